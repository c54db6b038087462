-- tests/ui/tui_recipe.lua: a small trainer run for the workbench's tmux test
-- (tests/ui/tui_tmux.sh) and the tour: long enough to watch, cheap per step.
-- arg[1] = steps (default 3000), arg[2] = loss kind (default "infonce").
local steps = tonumber(arg and arg[1]) or 3000
local kind = arg and arg[2] or "infonce"
local tr = cwb.trainer.new{
    seed = 7,
    data = {n = 512, clusters = 8, latent_dim = 8, dim = 16},
    batch = 64,
    encoder = {dims = {16, 64, 16}},
    optim = {kind = "sgd", lr = 0.05, momentum = 0.9},
    loss = {kind = kind},
    tau = 0.2,
    name = "tui-" .. kind,
}
local summary = tr:run{steps = steps, log_every = 5, eval_every = 500}
print(string.format("tui_recipe: %d steps, loss %.4f, top1 %.3f", summary.steps,
                    summary.last and summary.last.loss or 0 / 0,
                    summary.eval and summary.eval.top1 or 0 / 0))
return summary.steps
