# Newcombe's hybrid score interval for a difference of independent proportions,
# the reference for analysis.compare.newcombe_interval (and the p-value Minyi
# obtains by inverting it).
#
#   cd tests/analysis/reference && Rscript make_newcombe.R
#
# Writes expected/newcombe.csv: one row per (before, after, level) with the
# interval for after - before, 17 significant digits. Unweighted counts only:
# Minyi's Wilson components use min(n, p(1-p)/se^2) and a t quantile on df; for
# an Estimate with se^2 = p(1-p)/n and df = inf they are the plain Wilson
# intervals on x of n with the normal quantile, as in the paper.
#
# Source: Newcombe, R. G. (1998). Interval estimation for the difference
# between independent proportions: comparison of eleven methods. Statistics in
# Medicine 17, 873-890. Method 10 ("hybrid score", no continuity correction):
# with (l_i, u_i) the Wilson score interval for p_i = x_i/n_i (method 3 of
# Newcombe 1998, Statistics in Medicine 17, 857-872; Wilson 1927),
#   L = p1 - p2 - sqrt((p1 - l1)^2 + (u2 - p2)^2)
#   U = p1 - p2 + sqrt((u1 - p1)^2 + (p2 - l2)^2).
# Here p1 is the "after" round and p2 the "before" round.
#
# Columns:
#   x_before, n_before, x_after, n_after, level
#   low, high    the interval above, z = qnorm(1 - (1 - level)/2)
#   p_inverted   1 - c for the confidence level c at which the bound nearer 0
#                touches 0 (uniroot); 1 when the two proportions are equal;
#                it does not depend on the row's level.
#                Not in the paper: Minyi's definition of the p-value of "no
#                change" (analysis.compare._inverted_p_value).

fmt <- function(x) sprintf("%.17g", x)

# Wilson score interval, Newcombe (1998, method 3) closed form.
wilson <- function(x, n, z) {
  p <- x / n
  (2 * n * p + z^2 + c(-1, 1) * z * sqrt(z^2 + 4 * n * p * (1 - p))) / (2 * (n + z^2))
}

# Newcombe (1998) method 10 for p1 - p2.
newcombe10 <- function(x1, n1, x2, n2, level) {
  z <- qnorm(1 - (1 - level) / 2)
  p1 <- x1 / n1; p2 <- x2 / n2
  w1 <- wilson(x1, n1, z); w2 <- wilson(x2, n2, z)
  c(p1 - p2 - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2),
    p1 - p2 + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2))
}

# Cross-check of the Wilson components: prop.test without continuity
# correction gives the Wilson score interval.
for (x in c(0, 1, 7, 10)) for (lev in c(0.9, 0.95)) {
  pt <- suppressWarnings(prop.test(x, 10, conf.level = lev, correct = FALSE))$conf.int
  stopifnot(isTRUE(all.equal(as.vector(pt), wilson(x, 10, qnorm(1 - (1 - lev) / 2)),
                             tolerance = 1e-12)))
}
# Newcombe (1998), Table II, example (a) 56/70 - 48/80, method 10: 0.0524 to 0.3339.
stopifnot(all(round(newcombe10(56, 70, 48, 80, 0.95), 4) == c(0.0524, 0.3339)))

p_inverted <- function(x1, n1, x2, n2) {
  d <- x1 / n1 - x2 / n2
  if (d == 0) return(1)
  gap <- function(c) {                      # > 0 while the interval excludes 0
    ci <- newcombe10(x1, n1, x2, n2, c)
    if (d > 0) ci[1] else -ci[2]
  }
  lo <- 1e-9; hi <- 1 - 1e-9
  stopifnot(gap(lo) > 0, gap(hi) < 0)       # the fixture keeps clear of the ends
  1 - uniroot(gap, c(lo, hi), tol = 1e-15)$root
}

# (after, before): Newcombe's Table II examples (a)-(h) as p1 - p2, then pairs
# of drill size (tens of respondents per community, rates near 80-100%).
pairs <- rbind(
  c(56, 70, 48, 80), c(9, 10, 3, 10), c(6, 7, 2, 7), c(5, 56, 0, 29),
  c(0, 10, 0, 20), c(0, 10, 0, 10), c(10, 10, 0, 20), c(10, 10, 0, 10),
  c(23, 25, 18, 24), c(45, 48, 40, 50), c(20, 25, 3, 3), c(4, 5, 0, 5),
  c(170, 200, 160, 200), c(7, 12, 7, 12), c(12, 30, 25, 30)
)
rows <- list()
for (i in seq_len(nrow(pairs))) for (lev in c(0.95, 0.9)) {
  a <- pairs[i, ]
  ci <- newcombe10(a[1], a[2], a[3], a[4], lev)
  pv <- p_inverted(a[1], a[2], a[3], a[4])     # the same for every level
  rows[[length(rows) + 1]] <- c(x_before = a[3], n_before = a[4], x_after = a[1],
                                n_after = a[2], level = fmt(lev), low = fmt(ci[1]),
                                high = fmt(ci[2]), p_inverted = fmt(pv))
}
out <- do.call(rbind, rows)
write.csv(out, file.path("expected", "newcombe.csv"), row.names = FALSE, quote = TRUE)
cat("newcombe", nrow(out), "rows\n")
