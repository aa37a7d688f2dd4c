#![no_main]

use libfuzzer_sys::fuzz_target;
use timbang_tests::fuzz;

fuzz_target!(|data: &[u8]| fuzz::fuzz_entry(fuzz::register_csv, data));
