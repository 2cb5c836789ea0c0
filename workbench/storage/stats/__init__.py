"""The dashboard's statistics: the counting SQL (`sql`), the stored sums and how they are kept
(`stored`, marked by database `triggers`), the dashboard's reads (`reads`, `detail`) and the
comparison with a recomputation (`check`)."""
