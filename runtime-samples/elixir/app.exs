# An Elixir workload that does nothing but stay alive.
Process.sleep(:infinity)
