//! `autoenc bench`: kernel timings, GFLOP/s, GB/s and roofline fractions.
