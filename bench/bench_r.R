# R's survey package on the benchmark's fraction (issue 3, "Speed"):
#   python bench/bench_analysis.py --rows 200000 --indicators 1 --units 12 \
#       --repeat 1 --write-r bench/out/r200k
#   Rscript bench/bench_r.R bench/out/r200k
# One indicator by 12 units on 200,000 rows raked to three margins: the same
# steps as bench_analysis.py (design, rake, svyby means with SE, svyciprop beta
# intervals by unit, overall mean). Writes DIR/r_results.csv to compare with
# `python -m analysis rates DIR/responses.csv --indicator y --by unit --weight w --rake DIR/margin_*.csv`.
suppressPackageStartupMessages(library(survey))
dir <- commandArgs(trailingOnly = TRUE)[1]
d <- read.csv(file.path(dir, "responses.csv"))
margin <- function(v) {
  t <- read.csv(file.path(dir, paste0("margin_", v, ".csv")))
  names(t) <- c(v, "Freq")
  t
}
el <- function(t) unname(t["elapsed"])
t_design <- system.time(des <- svydesign(ids = ~1, weights = ~w, data = d))
t_rake <- system.time(rk <- rake(des, list(~street, ~gender, ~age),
                                 list(margin("street"), margin("gender"), margin("age")),
                                 control = list(maxit = 100, epsilon = 1e-6)))
t_overall <- system.time(ov <- svymean(~y, rk, na.rm = TRUE))
t_by <- system.time(sb <- svyby(~y, ~unit, rk, svymean, na.rm = TRUE))
t_ci <- system.time(ci <- svyby(~y, ~unit, rk, svyciprop, method = "beta", vartype = "ci",
                                na.rm = TRUE))
cat(sprintf("R %s, survey %s, %d rows, %d units\n", getRversion(), packageVersion("survey"),
            nrow(d), length(unique(d$unit))))
cat(sprintf("  design            %8.2f s\n", el(t_design)))
cat(sprintf("  rake (3 margins)  %8.2f s\n", el(t_rake)))
cat(sprintf("  svymean overall   %8.2f s\n", el(t_overall)))
cat(sprintf("  svyby svymean     %8.2f s\n", el(t_by)))
cat(sprintf("  svyby svyciprop   %8.2f s\n", el(t_ci)))
cat(sprintf("  total             %8.2f s\n",
            el(t_design) + el(t_rake) + el(t_overall) + el(t_by) + el(t_ci)))
out <- data.frame(unit = sb$unit, estimate = sb$y, se = SE(sb),
                  beta_low = ci$ci_l, beta_high = ci$ci_u)
out <- rbind(data.frame(unit = "overall", estimate = coef(ov)[[1]], se = SE(ov)[[1]],
                        beta_low = NA, beta_high = NA), out)
write.csv(out, file.path(dir, "r_results.csv"), row.names = FALSE)
