"""The command-line front ends: `rulecheck` (validate) and `ratecard` (quote, bill)."""
