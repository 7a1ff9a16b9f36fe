//! Refusals for the transaction coordinator's state partition:
//! `[log] transaction_state_min_isr` and `coordinator_waits_for_replication`.

use super::model::Scenario;
use super::problem::Refusals;

/// Gather every refused setting of the transaction-state partition.
pub(super) fn validate(s: &Scenario, out: &mut Refusals) {
    let on = crate::processor::output_topic::transactions_on(s.gateway.transactional, &s.processor);
    if !s.log.coordinator_waits_for_replication && !on {
        out.fail(
            "log.coordinator_waits_for_replication",
            "only a run with transactions ([gateway] transactional = true or [processor] delivery = \
             \"exactly_once_txn\") has a transaction coordinator to switch",
        );
    }
    if !on {
        return;
    }
    let rf = s.topology.replication_factor;
    let min_isr = s.log.transaction_state_min_isr;
    if min_isr == 0 {
        out.fail(
            "log.transaction_state_min_isr",
            "must be at least 1: a coordinator's state change counts once this many replicas hold it",
        );
    } else if min_isr > rf {
        out.fail(
            "log.transaction_state_min_isr",
            format!(
                "{min_isr} is above the replication factor of {rf} ([topology] replication_factor): the \
                 transaction-state partition could never have that many in-sync replicas, and no coordinator \
                 could write (Kafka's transaction.state.log.min.isr); set it to at most {rf}"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::transactions::tests::parse;

    #[test]
    fn impossible_state_partition_settings_are_refused_with_their_field_and_line() {
        let cases = [
            "[log]\ntransaction_state_min_isr = 0\n[gateway]\ntransactional = true\n",
            "[log]\ntransaction_state_min_isr = 4\n[gateway]\ntransactional = true\n",
            "[log]\ncoordinator_waits_for_replication = false\n",
        ];
        for (i, sections) in cases.iter().enumerate() {
            let e = parse(sections).expect_err("refused");
            let field = if i == 2 {
                "log.coordinator_waits_for_replication"
            } else {
                "log.transaction_state_min_isr"
            };
            assert_eq!(e.field(), field, "{e}");
            assert!(e.line().is_some(), "{e}");
            assert!(e.to_string().contains("x.toml"), "{e}");
        }
        // The passing case: Kafka's defaults with three replicas.
        assert!(parse("[gateway]\ntransactional = true\n").is_ok());
    }
}
