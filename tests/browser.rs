//! `autoenc serve`'s page in a real browser: headless Debian chromium driven through
//! chromedriver's WebDriver protocol opens the page, starts a one-epoch run on the bundled
//! data by clicking its button, and waits for the loss curves and the reconstructions to
//! be shown. Skipped with a message when chromium or chromedriver is missing, unless
//! `AUTOENC_REQUIRE_BROWSER=1` (CI installs both), where that is a failure.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Kills the child when the test ends, however it ends.
struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Ends the WebDriver session (and so the browser) when the test ends, even by a failed
/// assertion: killing chromedriver alone would leave chromium running.
struct Session {
    port: u16,
    id: String,
}
impl Drop for Session {
    fn drop(&mut self) {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
            let req = format!(
                "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.id
            );
            let _ = s.write_all(req.as_bytes());
            let _ = s.read(&mut [0u8; 256]);
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One WebDriver call: HTTP/1.1 with `Connection: close`, JSON in and out.
fn webdriver(port: u16, method: &str, path: &str, body: Option<Value>) -> Value {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to chromedriver");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).unwrap();
    // Read the headers, then exactly Content-Length bytes (chromedriver may keep the
    // connection open whatever the request asked).
    let mut reader = BufReader::new(s);
    let (mut head, mut length) = (String::new(), 0usize);
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap();
            }
        }
        head.push_str(&line);
        if line == "\r\n" || line.is_empty() {
            break;
        }
    }
    let mut payload = vec![0u8; length];
    reader.read_exact(&mut payload).unwrap();
    let payload = String::from_utf8_lossy(&payload).to_string();
    let response = format!("{head}{payload}");
    let v: Value = serde_json::from_str(&payload).unwrap_or_else(|e| panic!("{method} {path}: {e}: {response}"));
    assert!(v["value"].get("error").is_none(), "{method} {path}: {v}");
    v["value"].clone()
}

fn wait_for_port(port: u16, what: &str) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_page_trains_a_model_and_shows_curves_and_reconstructions() {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER].into_iter().filter(|p| !Path::new(p).exists()).collect();
    if !missing.is_empty() {
        assert!(std::env::var("AUTOENC_REQUIRE_BROWSER").as_deref() != Ok("1"), "missing {missing:?}");
        eprintln!("skipped: {missing:?} not installed (apt-get install chromium chromium-driver)");
        return;
    }
    let runs = std::env::temp_dir().join(format!("autoenc-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&runs);
    // The server picks its port (0) and prints it.
    let mut server = Killed(
        Command::new(env!("CARGO_BIN_EXE_autoenc"))
            .args(["serve", "--port", "0", "--runs-dir", runs.to_str().unwrap()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url =
        line.split_whitespace().find(|w| w.starts_with("http://")).unwrap_or_else(|| panic!("{line}")).to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "served beyond this machine by default: {url}");

    let driver_port = free_port();
    let _driver = Killed(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_port(driver_port, "chromedriver");
    let profile = runs.join("chromium-profile");
    std::fs::create_dir_all(&profile).unwrap();
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        &format!("--user-data-dir={}", profile.display()),
    ];
    let caps = json!({ "capabilities": { "alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": CHROMIUM, "args": args }
    }}});
    let session = webdriver(driver_port, "POST", "/session", Some(caps));
    let id = session["sessionId"].as_str().expect("session id").to_string();
    let _session = Session { port: driver_port, id: id.clone() };
    let call = |method: &str, path: &str, body: Option<Value>| {
        webdriver(driver_port, method, &format!("/session/{id}{path}"), body)
    };
    let script = |js: &str| call("POST", "/execute/sync", Some(json!({ "script": js, "args": [] })));

    call("POST", "/url", Some(json!({ "url": url })));
    // One epoch of the default model on the bundled data, started by a real click.
    let wait_options = Instant::now();
    while script("return document.getElementById('model').options.length") == json!(0) {
        assert!(wait_options.elapsed() < Duration::from_secs(20), "the page never listed the models");
        std::thread::sleep(Duration::from_millis(100));
    }
    script("document.getElementById('epochs').value = '1'; document.getElementById('dataset').value = 'bundled';");
    let button = call("POST", "/element", Some(json!({ "using": "css selector", "value": "#start" })));
    let element = button.as_object().and_then(|o| o.values().next()).and_then(Value::as_str).unwrap().to_string();
    call("POST", &format!("/element/{element}/click"), Some(json!({})));

    let seen =
        "const ok = (id) => { const i = document.getElementById(id); return i.complete && i.naturalWidth > 0; };\
        return [ok('curves'), ok('recon'), ok('latent'), document.getElementById('status').textContent,\
        document.getElementById('curves').naturalWidth, document.getElementById('recon').naturalWidth];";
    let start = Instant::now();
    let last = loop {
        let v = script(seen);
        if v[0] == json!(true) && v[1] == json!(true) && v[3].as_str().unwrap_or("").contains("done") {
            break v;
        }
        assert!(start.elapsed() < Duration::from_secs(180), "curves and reconstructions never appeared: {v}");
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(last[4].as_u64().unwrap() >= 1000, "curves.png too small: {last}");
    assert!(last[5].as_u64().unwrap() >= 100, "reconstructions.png too small: {last}");
    // The run the page started is an ordinary run directory.
    let run = runs.join("ae-1");
    for f in ["config.json", "metrics.csv", "model.safetensors", "curves.png", "reconstructions.png", "latent.png"] {
        assert!(run.join(f).is_file(), "{} lacks {f}", run.display());
    }
    // The slider decodes a blend once the run is done.
    script("const a = document.getElementById('alpha'); a.value = '0.25'; a.dispatchEvent(new Event('input'));");
    let interp = Instant::now();
    while script("const i = document.getElementById('interp'); return i.complete && i.naturalWidth > 0;") != json!(true)
    {
        assert!(interp.elapsed() < Duration::from_secs(30), "the interpolation never appeared");
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&runs);
}
