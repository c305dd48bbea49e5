# Expected numbers for tests/analysis, computed with R's survey package.
#
#   cd tests/analysis/reference && python make_data.py && Rscript make_reference.R
#
# Writes expected/<dataset>.csv: one row per (design, indicator, by, domain)
# with R's estimate, SE, degrees of freedom, design effect and the intervals
# of every method, all with 17 significant digits. The tests compare Minyi's
# numbers with these; CI does not need R.
# (Newcombe's interval for a change between rounds: make_newcombe.R. Columns:
# README.md.)
#
# Sources of each column (survey 4.1; see analysis/METHODS.md):
#   estimate, se   svymean(~y, design, na.rm=TRUE) overall;
#                  svyby(~y, ~dom, design, svymean, na.rm=TRUE) by domain
#   deff           the same with deff="replace"
#   df             degf(design), degf(subset(design, dom == d))
#   mean, xlogit   svyciprop(method="mean" / "xlogit"), via svyby for domains
#   beta           svyciprop(method="beta"); svyciprop uses nrow(design) - 1
#                  for the numerator t, which for a domain of a calibrated
#                  design counts every row of the sample; Minyi uses the
#                  domain's respondents n. beta_ci() below is svyciprop's own
#                  beta code with that n; it is checked against svyciprop
#                  where the two n agree (uncalibrated designs, no missing).
#   wilson         survey 4.5's svyciprop(method="wilson") (Debian ships 4.1):
#                  Wilson score interval with n_eff = p(1-p)/var and the
#                  t quantile on df, written out in wilson_ci().
#   cp             Clopper-Pearson on n_eff (no df adjustment), cp_neff_ci().
#   index rows     svymean of the 0-100 score; interval: confint(df = degf).
#
# Capped intervals (Minyi's default, Estimate.ci(cap=True)): the effective
# sample size never exceeds the domain's respondents n, as NCHS does. Written
# out below, one function per column, each citing its source:
#   beta_cap       CDC surveytable's svyciprop_adjusted(method = "beta")
#                  (R/svyciprop_adjusted.R, M. Talih 2019; NCHS data
#                  presentation standards, Parker et al. 2017) with
#                  nrow(design) replaced by n and df = degf(d): beta_cap_ci().
#   wilson_cap     wilson_ci() with n_eff capped at n: wilson_cap_ci().
#   cp_cap         cp_neff_ci() with n_eff capped at n: cp_cap_ci().
#   mean_cap       svyciprop(method = "mean") with the variance floored at
#                  p(1-p)/n (n_eff <= n): mean_cap_ci().
#   xlogit_cap     svyciprop(method = "xlogit") with the same floor:
#                  xlogit_cap_ci().
# surveytable caps only "beta" (other methods go to svyciprop unchanged);
# Minyi carries the same cap to the other methods (analysis/METHODS.md 4).
# Where the cap does not bind, each capped column is checked below to equal
# its uncapped twin, and mean_ci()/xlogit_ci() are checked against svyciprop.
suppressPackageStartupMessages(library(survey))
options(survey.lonely.psu = "fail")

fmt <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))

beta_ci <- function(p, v, n, df, level) {        # svyciprop(method = "beta")
  alpha <- 1 - level
  n.eff <- p * (1 - p) / v
  n.eff <- n.eff * (qt(alpha / 2, n - 1) / qt(alpha / 2, df))^2
  c(qbeta(alpha / 2, n.eff * p, n.eff * (1 - p) + 1),
    qbeta(1 - alpha / 2, n.eff * p + 1, n.eff * (1 - p)))
}
wilson_ci <- function(p, v, df, level) {         # survey 4.5 method = "wilson"
  n.eff <- p * (1 - p) / v
  z <- qt((1 - level) / 2, df = df, lower.tail = FALSE)
  centre <- p + z^2 / (2 * n.eff)
  half <- z * sqrt(p * (1 - p) / n.eff + z^2 / (4 * n.eff^2))
  (centre + c(-1, 1) * half) / (1 + z^2 / n.eff)
}
cp_neff_ci <- function(p, v, level) {            # Clopper-Pearson on n_eff
  alpha <- 1 - level
  n.eff <- p * (1 - p) / v
  x <- p * n.eff
  c(if (x <= 0) 0 else qbeta(alpha / 2, x, n.eff - x + 1),
    if (x >= n.eff) 1 else qbeta(1 - alpha / 2, x + 1, n.eff - x))
}

# ---- capped intervals ------------------------------------------------------
# surveytable R/svyciprop_adjusted.R (CDC; written by Makram Talih, 2019),
# method = "beta", transcribed line by line; nrow(design) -> n, the domain's
# respondents with an answer (Minyi's n, as in beta_ci() above).
beta_cap_ci <- function(p, v, n, df, level) {
  rval <- p
  n.eff <- p * (1 - p) / v                      # coef(m)*(1-coef(m))/vcov(m)
  alpha <- 1 - level
  rat.squ <- if (df > 0) (qt(alpha / 2, n - 1) / qt(alpha / 2, df))^2 else 0
  n.eff <- if (rval > 0) min(n, n.eff * rat.squ) else n
  c(qbeta(alpha / 2, n.eff * rval, n.eff * (1 - rval) + 1),
    qbeta(1 - alpha / 2, n.eff * rval + 1, n.eff * (1 - rval)))
}
# Wilson score interval (Wilson 1927) as survey 4.5's svyciprop(method =
# "wilson"), n_eff capped at n as in svyciprop_adjusted.
wilson_cap_ci <- function(p, v, n, df, level) {
  n.eff <- min(n, p * (1 - p) / v)
  z <- qt((1 - level) / 2, df = df, lower.tail = FALSE)
  centre <- p + z^2 / (2 * n.eff)
  half <- z * sqrt(p * (1 - p) / n.eff + z^2 / (4 * n.eff^2))
  (centre + c(-1, 1) * half) / (1 + z^2 / n.eff)
}
# Clopper-Pearson (1934) on n_eff, n_eff capped at n.
cp_cap_ci <- function(p, v, n, level) {
  alpha <- 1 - level
  n.eff <- min(n, p * (1 - p) / v)
  x <- p * n.eff
  c(if (x <= 0) 0 else qbeta(alpha / 2, x, n.eff - x + 1),
    if (x >= n.eff) 1 else qbeta(1 - alpha / 2, x + 1, n.eff - x))
}
# survey 4.1 svyciprop(method = "mean"): confint(svymean, df = df), i.e.
# p -+ qt(1 - alpha/2, df) se.
mean_ci <- function(p, v, df, level) {
  p + c(-1, 1) * qt((1 - level) / 2, df = df, lower.tail = FALSE) * sqrt(v)
}
# survey 4.1 svyciprop(method = "xlogit"): svycontrast to logit(p) (delta
# method, se / (p(1-p))), confint with df, back-transformed with expit.
xlogit_ci <- function(p, v, df, level) {
  h <- qt((1 - level) / 2, df = df, lower.tail = FALSE) * sqrt(v) / (p * (1 - p))
  plogis(qlogis(p) + c(-1, 1) * h)
}
# The cap for the Wald-type methods: n_eff = p(1-p)/v <= n  <=>  v >= p(1-p)/n.
mean_cap_ci <- function(p, v, n, df, level) mean_ci(p, max(v, p * (1 - p) / n), df, level)
xlogit_cap_ci <- function(p, v, n, df, level) xlogit_ci(p, max(v, p * (1 - p) / n), df, level)

same <- function(a, b) isTRUE(all.equal(unname(a), unname(b), tolerance = 1e-12))

one_row <- function(des, y, kind, level, dom_expr = NULL, dom_value = NA, by = "") {
  d <- if (is.null(dom_expr)) des else des[dom_expr, ]
  f <- as.formula(paste0("~", y))
  vals <- d$variables[[y]][weights(d, "sampling") != 0]
  n <- sum(!is.na(vals))
  df <- degf(d)
  if (n == 0) return(NULL)
  m <- svymean(f, d, na.rm = TRUE, deff = "replace")
  p <- unname(coef(m)); v <- unname(vcov(m)[1, 1])
  out <- list(by = by, domain = dom_value, kind = kind, indicator = y, level = level,
              n = n, estimate = p, se = sqrt(v), df = df,
              deff = unname(attr(m, "deff")[1, 1]))
  if (kind == "index") {
    ci <- confint(svymean(f, d, na.rm = TRUE), level = level, df = df)
    out$t_low <- ci[1]; out$t_high <- ci[2]
    return(out)
  }
  out$successes <- sum(vals == 1, na.rm = TRUE)
  if (v > 0) {
    for (meth in c("mean", "xlogit")) {
      ci <- suppressWarnings(attr(svyciprop(f, d, method = meth, level = level, na.rm = TRUE), "ci"))
      out[[paste0(meth, "_low")]] <- ci[1]; out[[paste0(meth, "_high")]] <- ci[2]
    }
    b <- beta_ci(p, v, n, df, level)
    # svyciprop's own beta where its nrow(design) equals n
    if (nrow(d) == n) {
      rb <- attr(svyciprop(f, d, method = "beta", level = level, na.rm = TRUE), "ci")
      stopifnot(isTRUE(all.equal(unname(rb), b, tolerance = 1e-12)))
    }
    out$beta_low <- b[1]; out$beta_high <- b[2]
    w <- wilson_ci(p, v, df, level); out$wilson_low <- w[1]; out$wilson_high <- w[2]
    cp <- cp_neff_ci(p, v, level); out$cp_low <- cp[1]; out$cp_high <- cp[2]
    out$svyciprop_beta_low <- attr(svyciprop(f, d, method = "beta", level = level,
                                             na.rm = TRUE), "ci")[1]
    out$svyciprop_beta_high <- attr(svyciprop(f, d, method = "beta", level = level,
                                              na.rm = TRUE), "ci")[2]
    out$nrow_design <- nrow(d)
    # capped intervals (see the header); where the cap does not bind they are
    # the uncapped columns exactly
    binds <- p * (1 - p) / v > n
    caps <- list(beta = beta_cap_ci(p, v, n, df, level),
                 wilson = wilson_cap_ci(p, v, n, df, level),
                 cp = cp_cap_ci(p, v, n, level),
                 mean = mean_cap_ci(p, v, n, df, level),
                 xlogit = xlogit_cap_ci(p, v, n, df, level))
    if (df > 0) {
      stopifnot(same(mean_ci(p, v, df, level), c(out$mean_low, out$mean_high)),
                same(xlogit_ci(p, v, df, level), c(out$xlogit_low, out$xlogit_high)))
      kg <- p * (1 - p) / v * (qt((1 - level) / 2, n - 1) / qt((1 - level) / 2, df))^2
      if (kg <= n) stopifnot(same(caps$beta, b))
    }
    if (!binds) {
      stopifnot(same(caps$cp, cp))
      if (df > 0) stopifnot(same(caps$wilson, w), same(caps$mean, c(out$mean_low, out$mean_high)),
                            same(caps$xlogit, c(out$xlogit_low, out$xlogit_high)))
    }
    for (meth in names(caps)) {
      out[[paste0(meth, "_cap_low")]] <- caps[[meth]][1]
      out[[paste0(meth, "_cap_high")]] <- caps[[meth]][2]
    }
  }
  out
}

# svyby gives the same estimate and SE as subsetting domain by domain; check
# it once per design so that the fixture states svyby's numbers.
check_svyby <- function(des, y, by, rows) {
  f <- as.formula(paste0("~", y))
  sb <- svyby(f, as.formula(paste0("~", by)), des, svymean, na.rm = TRUE)
  for (r in rows) {
    if (is.null(r) || r$by != by) next
    k <- which(as.character(sb[[by]]) == r$domain)
    stopifnot(abs(sb[k, y] - r$estimate) < 1e-12, abs(SE(sb)[k] - r$se) < 1e-12)
  }
}

run <- function(name, designs, indicators, index, bys, levels = 0.95) {
  rows <- list()
  for (dn in names(designs)) {
    des <- designs[[dn]]
    for (y in c(indicators, index)) {
      kind <- if (y %in% index) "index" else "rate"
      for (lev in levels) {
        new <- list(one_row(des, y, kind, lev))
        for (by in bys) {
          for (v in sort(unique(as.character(des$variables[[by]])))) {
            new[[length(new) + 1]] <- one_row(des, y, kind, lev,
                                              as.character(des$variables[[by]]) == v, v, by)
          }
        }
        if (lev == levels[1]) for (by in bys) check_svyby(des, y, by, new)
        for (r in new) if (!is.null(r)) { r$design <- dn; rows[[length(rows) + 1]] <- r }
      }
    }
  }
  cols <- c("design", "indicator", "kind", "by", "domain", "level", "n", "successes",
            "estimate", "se", "df", "deff", "mean_low", "mean_high", "xlogit_low", "xlogit_high",
            "beta_low", "beta_high", "wilson_low", "wilson_high", "cp_low", "cp_high",
            "t_low", "t_high", "svyciprop_beta_low", "svyciprop_beta_high", "nrow_design",
            # capped intervals (n_eff <= n), appended so the columns above stay as they were
            "beta_cap_low", "beta_cap_high", "wilson_cap_low", "wilson_cap_high",
            "cp_cap_low", "cp_cap_high", "mean_cap_low", "mean_cap_high",
            "xlogit_cap_low", "xlogit_cap_high")
  out <- do.call(rbind, lapply(rows, function(r) {
    vapply(cols, function(cn) {
      x <- r[[cn]]
      if (is.null(x) || (length(x) == 1 && is.na(x))) "NA"
      else if (is.numeric(x)) fmt(x) else as.character(x)
    }, "")
  }))
  write.csv(out, file.path("expected", paste0(name, ".csv")), row.names = FALSE, quote = TRUE)
  cat(name, nrow(out), "rows\n")
}

margin_table <- function(file, var) {
  m <- read.csv(file.path("data", file), colClasses = "character")
  df <- data.frame(m[[var]], Freq = as.numeric(m$population))
  names(df)[1] <- var
  df
}
tight <- list(maxit = 500, epsilon = 1e-14)

# ---- drill -----------------------------------------------------------------
drill <- read.csv("data/drill.csv", colClasses = c(street = "character", community = "character",
                                                   stratum2 = "character"))
pop_sg <- read.csv("data/drill_pop_street_gender.csv")
names(pop_sg)[3] <- "Freq"
m_st <- margin_table("drill_margin_street.csv", "street")
m_g <- margin_table("drill_margin_gender.csv", "gender")
m_a <- margin_table("drill_margin_age.csv", "age")

srs <- svydesign(ids = ~1, data = drill)
wtd <- svydesign(ids = ~1, weights = ~w, data = drill)
strat <- svydesign(ids = ~1, strata = ~street, weights = ~w, data = drill)
clus <- svydesign(ids = ~community, strata = ~street, weights = ~w, data = drill, nest = TRUE)
clus_fpc <- svydesign(ids = ~community, strata = ~street, weights = ~w, fpc = ~fpc, data = drill,
                      nest = TRUE)
ps <- postStratify(wtd, ~street + gender, pop_sg)
ps_clus <- postStratify(clus, ~street + gender, pop_sg)
rk <- rake(wtd, list(~street, ~gender, ~age), list(m_st, m_g, m_a), control = tight)
rk_clus <- rake(clus_fpc, list(~street, ~gender, ~age), list(m_st, m_g, m_a), control = tight)
ps_rk <- rake(ps, list(~age), list(m_a), control = tight)
# trimming after raking: weights no longer follow the calibration cells exactly
rk_trim <- trimWeights(rk, upper = 300, lower = 30)
stopifnot(any(weights(rk) > 300), any(weights(rk) < 30))
options(survey.lonely.psu = "adjust")
lonely_adj <- svydesign(ids = ~community, strata = ~stratum2, weights = ~w, data = drill, nest = TRUE)
run("drill_lonely_adjust", list(lonely_adjust = lonely_adj), c("aware", "partic"), character(0),
    c("street", "community"))
options(survey.lonely.psu = "certainty")
lonely_cert <- svydesign(ids = ~community, strata = ~stratum2, weights = ~w, data = drill, nest = TRUE)
run("drill_lonely_certainty", list(lonely_certainty = lonely_cert), c("aware", "partic"),
    character(0), c("street"))
options(survey.lonely.psu = "fail")

run("drill", list(srs = srs, weighted = wtd, strat = strat, clus = clus, clus_fpc = clus_fpc,
                  ps = ps, ps_clus = ps_clus, rake = rk, rake_clus = rk_clus, ps_rake = ps_rk,
                  rake_trim = rk_trim),
    c("aware", "support", "partic"), "score", c("street", "community", "age"), levels = c(0.95, 0.9))

# ---- large -----------------------------------------------------------------
large <- read.csv("data/large.csv", colClasses = c(street = "character", community = "character"))
lpop_sg <- read.csv("data/large_pop_street_gender.csv")
names(lpop_sg)[3] <- "Freq"
l_st <- margin_table("large_margin_street.csv", "street")
l_g <- margin_table("large_margin_gender.csv", "gender")
l_a <- margin_table("large_margin_age.csv", "age")
lw <- svydesign(ids = ~1, weights = ~w, data = large)
lclus <- svydesign(ids = ~community, strata = ~street, weights = ~w, data = large, nest = TRUE)
run("large", list(weighted = lw, clus = lclus,
                  ps = postStratify(lw, ~street + gender, lpop_sg),
                  rake = rake(lw, list(~street, ~gender, ~age), list(l_st, l_g, l_a), control = tight),
                  rake_clus = rake(lclus, list(~street, ~gender, ~age), list(l_st, l_g, l_a),
                                   control = tight)),
    c("aware", "support"), "score", c("street"))
