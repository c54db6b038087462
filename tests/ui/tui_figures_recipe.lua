-- tests/ui/tui_figures_recipe.lua: runs for the curve pane's tmux test
-- (tests/ui/tui_figures.sh): trainer runs of one name that differ only in
-- tau, each followed by a metric the recipe records itself (theta_ratio,
-- through cwb.runs.log) with a reference line at 1 (cwb.runs.ref).
-- arg[1] = steps per run (default 300), arg[2] = runs (default 2).
local steps = tonumber(arg and arg[1]) or 300
local nruns = tonumber(arg and arg[2]) or 2
local taus = {0.1, 0.5, 0.2, 0.3, 0.05, 0.7, 0.9, 0.15, 0.25, 0.35, 0.45, 0.55}
for r = 1, nruns do
  local tau = taus[(r - 1) % #taus + 1]
  -- the workbench test's small problem (tests/ui/tui_recipe.lua), one name for all
  local tr = cwb.trainer.new{seed = 7, name = "tui-standard", tau = tau, batch = 64,
    data = {n = 256, clusters = 8, latent_dim = 8, dim = 16}, encoder = {dims = {16, 32, 16}},
    optim = {kind = "sgd", lr = 0.05, momentum = 0.9}, loss = {kind = "infonce"}}
  local res = tr:run{steps = steps, log_every = 5}
  if res.run then
    for s = 1, 60 do
      cwb.runs.log(res.run, s * 5, "theta_ratio", 1 + 4 * tau * math.exp(-s / 15))
    end
    -- (guarded so that the other checks also run on a cwb without it)
    if cwb.runs.ref then cwb.runs.ref(res.run, "theta_ratio", 1, "theta* (optimum)") end
  end
end
print("tui_figures: " .. nruns .. " runs")
