//! Refusals for the processor's `delivery = "exactly_once_txn"` (Kafka
//! Streams' `exactly_once_v2`) and its safety switch.

use super::model::Scenario;
use super::problem::Refusals;
use crate::config::{Acks, Delivery};

/// Gather every refused `exactly_once_txn` setting.
pub(super) fn validate(s: &Scenario, out: &mut Refusals) {
    let p = &s.processor;
    let on = p.delivery == Delivery::ExactlyOnceTxn;
    if !p.offsets_in_transaction && !on {
        out.fail(
            "processor.offsets_in_transaction",
            "only means something under delivery = \"exactly_once_txn\" (the offsets of the other modes \
             go to the sink)",
        );
    }
    if !p.generation_fencing && !on {
        out.fail(
            "processor.generation_fencing",
            "only means something under delivery = \"exactly_once_txn\" (the other modes fence at the sink)",
        );
    }
    if !on || p.instances == 0 {
        return;
    }
    if !s.producer.idempotence {
        out.fail(
            "processor.delivery",
            "exactly_once_txn makes each instance a transactional producer, which needs idempotence \
             (Kafka refuses transactional.id without enable.idempotence): set [producer] idempotence = true",
        );
    }
    if s.log.acks != Acks::All {
        out.fail(
            "processor.delivery",
            "exactly_once_txn writes its output with acks = \"all\" (Kafka requires it of a transactional \
             producer): set [log] acks = \"all\"",
        );
    }
    let timeout = p.transaction_timeout_ms;
    if timeout == 0 {
        out.fail("processor.transaction_timeout_ms", "must be at least 1 ms");
    } else if timeout > s.log.transaction_max_timeout_ms {
        out.fail(
            "processor.transaction_timeout_ms",
            format!(
                "{timeout} ms is above the brokers' transaction.max.timeout.ms of {} ms ([log] \
                 transaction_max_timeout_ms): the coordinator would refuse InitProducerId",
                s.log.transaction_max_timeout_ms
            ),
        );
    } else if p.commit_interval_ms >= timeout {
        out.fail(
            "processor.commit_interval_ms",
            format!(
                "{} ms is not below processor.transaction_timeout_ms ({timeout} ms): every transaction \
                 would be aborted by its coordinator before its commit",
                p.commit_interval_ms
            ),
        );
    }
    if s.gateway.transactional && p.isolation != crate::config::Isolation::ReadCommitted {
        out.fail(
            "processor.isolation",
            "exactly_once_txn over transactional gateways must read its input read_committed (Kafka \
             Streams sets it under exactly_once_v2): set isolation = \"read_committed\"",
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::transactions::tests::parse;

    #[test]
    fn impossible_exactly_once_txn_settings_are_refused_with_their_field_and_line() {
        let txn = "[processor]\ninstances = 1\ndelivery = \"exactly_once_txn\"\n";
        let cases = [
            (format!("[producer]\nidempotence = false\n{txn}"), "processor.delivery"),
            (format!("[log]\nacks = \"1\"\n{txn}"), "processor.delivery"),
            (
                "[processor]\ninstances = 1\noffsets_in_transaction = false\n".to_string(),
                "processor.offsets_in_transaction",
            ),
            (
                format!("[log]\ntransaction_max_timeout_ms = 5000\n{txn}transaction_timeout_ms = 6000\n"),
                "processor.transaction_timeout_ms",
            ),
            (
                format!("{txn}transaction_timeout_ms = 1000\ncommit_interval_ms = 1000\n"),
                "processor.commit_interval_ms",
            ),
            (format!("[gateway]\ntransactional = true\n{txn}"), "processor.isolation"),
            (
                "[processor]\ninstances = 1\ngeneration_fencing = false\n".to_string(),
                "processor.generation_fencing",
            ),
        ];
        for (sections, field) in cases {
            let e = parse(&sections).expect_err("refused");
            assert_eq!(e.field(), field, "{e}");
            assert!(e.line().is_some(), "{e}");
            assert!(e.to_string().contains("x.toml"), "{e}");
        }
        let ok = parse(&format!("{txn}offsets_in_transaction = false\n")).expect("valid exactly_once_txn loads");
        assert!(!ok.scenario.processor.offsets_in_transaction);
    }
}
