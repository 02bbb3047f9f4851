fn main() {
    println!("autoenc");
}
