//! The IAM condition operators and keys are listed twice: in the compiler, which refuses a
//! resource policy the gateway could not evaluate, and in the runtime, which evaluates it.
//! The compiler does not link the runtime, so this test keeps the two lists equal.

#[test]
fn compiler_and_runtime_agree_on_policy_conditions() {
    assert_eq!(
        specgate::lower::POLICY_OPERATORS,
        specgate_runtime::policy::OPERATORS
    );
    assert_eq!(specgate::lower::POLICY_KEYS, specgate_runtime::policy::KEYS);
}
