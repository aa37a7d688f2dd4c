#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| timbang_tests::fuzz::session_messages(data));
