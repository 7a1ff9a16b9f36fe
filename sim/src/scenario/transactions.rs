//! Refusals for transactions: `[gateway] transactional` and its timeouts,
//! `[processor] isolation`, and the broker's `transaction_max_timeout_ms`.

use super::model::Scenario;
use super::problem::Refusals;
use crate::config::{Acks, Isolation, PlantedBug};

/// Gather every refused transaction setting.
pub(super) fn validate(s: &Scenario, out: &mut Refusals) {
    let g = &s.gateway;
    if s.log.transaction_max_timeout_ms == 0 {
        out.fail("log.transaction_max_timeout_ms", "must be at least 1 ms");
    }
    if s.processor.isolation == Isolation::ReadCommitted && !g.transactional {
        out.fail(
            "processor.isolation",
            "read_committed needs a transactional producer to read from: set [gateway] transactional = true, \
             or read_uncommitted (Kafka's default)",
        );
    }
    for (i, sub) in s.subscription.iter().enumerate() {
        if sub.isolation == Isolation::ReadCommitted && !g.transactional {
            out.fail(
                format!("subscription[{i}].isolation"),
                "read_committed needs a transactional producer to read from: set [gateway] transactional = true, \
                 or read_uncommitted (Kafka's default)",
            );
        }
        if sub.planted_bug == Some(PlantedBug::KeepAborted) && sub.isolation != Isolation::ReadCommitted {
            out.fail(
                format!("subscription[{i}].planted_bug"),
                "keep_aborted is a read_committed consumer's bug: set isolation = \"read_committed\"",
            );
        }
    }
    if !g.transactional {
        return;
    }
    if !s.producer.idempotence {
        out.fail(
            "gateway.transactional",
            "a transactional producer needs idempotence, as Kafka refuses transactional.id without \
             enable.idempotence: set [producer] idempotence = true",
        );
    }
    if s.log.acks != Acks::All {
        out.fail(
            "gateway.transactional",
            "a transactional producer writes with acks = \"all\" (Kafka requires it with idempotence): set [log] acks = \"all\"",
        );
    }
    if g.transaction_timeout_ms == 0 {
        out.fail("gateway.transaction_timeout_ms", "must be at least 1 ms");
    } else if g.transaction_timeout_ms > s.log.transaction_max_timeout_ms {
        out.fail(
            "gateway.transaction_timeout_ms",
            format!(
                "{} ms is above the brokers' transaction.max.timeout.ms of {} ms ([log] transaction_max_timeout_ms): \
                 the coordinator would refuse InitProducerId with INVALID_TRANSACTION_TIMEOUT",
                g.transaction_timeout_ms, s.log.transaction_max_timeout_ms
            ),
        );
    }
    if g.transaction_interval_ms == 0 {
        out.fail("gateway.transaction_interval_ms", "must be at least 1 ms");
    } else if g.transaction_interval_ms >= g.transaction_timeout_ms {
        out.fail(
            "gateway.transaction_interval_ms",
            format!(
                "{} ms is not below gateway.transaction_timeout_ms ({} ms): every transaction would be aborted by its coordinator",
                g.transaction_interval_ms, g.transaction_timeout_ms
            ),
        );
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::scenario::parse_scenario;
    use std::path::Path;

    /// A small scenario with `sections` appended, parsed (the transaction refusals' tests
    /// and the processors' `exactly_once_txn` ones share it).
    pub(in crate::scenario) fn parse(
        sections: &str,
    ) -> Result<crate::scenario::LoadedScenario, crate::scenario::ScenarioError> {
        let text = format!(
            "name = \"x\"\nexpect = \"pass\"\nduration_s = 5\n[topology]\nbrokers = 3\n[workload]\n\
             rate = {{ kind = \"constant\", events_per_s = 10 }}\n{sections}"
        );
        parse_scenario(Path::new("x.toml"), &text)
    }

    #[test]
    fn impossible_transaction_settings_are_refused_with_their_field_and_line() {
        let cases = [
            (
                "[producer]\nidempotence = false\n[gateway]\ntransactional = true\n",
                "gateway.transactional",
            ),
            (
                "[processor]\ninstances = 1\nisolation = \"read_committed\"\n",
                "processor.isolation",
            ),
            (
                "[gateway]\ntransactional = true\ntransaction_timeout_ms = 1000000\n",
                "gateway.transaction_timeout_ms",
            ),
            (
                "[log]\ntransaction_max_timeout_ms = 5000\n[gateway]\ntransactional = true\ntransaction_timeout_ms = 6000\n",
                "gateway.transaction_timeout_ms",
            ),
            (
                "[log]\nacks = \"1\"\n[gateway]\ntransactional = true\n",
                "gateway.transactional",
            ),
            (
                "[gateway]\ntransactional = true\ntransaction_interval_ms = 5000\ntransaction_timeout_ms = 5000\n",
                "gateway.transaction_interval_ms",
            ),
            (
                "[[subscription]]\nname = \"audit\"\nisolation = \"read_committed\"\n",
                "subscription[0].isolation",
            ),
            (
                "[gateway]\ntransactional = true\n[[subscription]]\nname = \"audit\"\nplanted_bug = \"keep_aborted\"\n",
                "subscription[0].planted_bug",
            ),
            (
                "[[faults]]\nat_s = 1\nkind = \"crash\"\ntarget = \"gateway:0@abort\"\n",
                "faults[0].target",
            ),
        ];
        for (sections, field) in cases {
            let e = parse(sections).expect_err("refused");
            assert_eq!(e.field(), field, "{e}");
            assert!(e.line().is_some(), "{e}");
            assert!(e.to_string().contains("x.toml"), "{e}");
        }
        // The passing case: a transactional producer and a read_committed processor.
        let ok = parse(
            "[gateway]\ntransactional = true\ntransaction_timeout_ms = 10000\n\
             [processor]\ninstances = 1\nisolation = \"read_committed\"\n",
        )
        .expect("valid transactions load");
        assert!(ok.scenario.gateway.transactional);
        // Transactions with a read_committed subscription load too.
        let ok = parse(
            "[gateway]\ntransactional = true\ntransaction_timeout_ms = 10000\n\
             [[subscription]]\nname = \"audit\"\nisolation = \"read_committed\"\n",
        )
        .expect("a read_committed subscription over transactions loads");
        assert_eq!(
            ok.scenario.subscription[0].isolation,
            crate::config::Isolation::ReadCommitted
        );
    }
}
