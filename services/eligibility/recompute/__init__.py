"""提标重算: when a dated policy value changes, recompute the amounts of the cases on the roll it affects.

`service` holds the pure per-case recompute and the chunked run shared by the real recompute (on
`policy.standard_changed.v1`) and the what-if dry run (`POST /parameters/what-if`)."""
