# Copy into <state>/policies/ to use. Each message of a `deny` rule blocks promotion and is
# named, with this file, in the evidence of the decision.
package safedeploy

import rego.v1

# A stricter floor than the built-in safety margin for the latency SLO of payment services.
deny contains msg if {
	input.owner == "team-payments"
	some slo in input.slos
	slo.slo == "latency"
	slo.budget_remaining != null
	slo.budget_remaining < 0.75
	msg := sprintf("%s latency budget %.0f%% is under the payments floor of 75%%", [input.service, slo.budget_remaining * 100])
}
