//! Compile-time behaviour of `#[x_accel]` and `#[x_sendfile]`: what
//! compiles, and the exact error for each mistake (one per file).

#[test]
fn x_accel() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/x_accel/pass/*.rs");
    cases.compile_fail("tests/x_accel/fail/*.rs");
}

#[test]
fn x_sendfile() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/x_sendfile/pass/*.rs");
    cases.compile_fail("tests/x_sendfile/fail/*.rs");
}
