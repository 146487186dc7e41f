"""How opsflow's flows are deployed: prefect.yaml read once (spec), served from one process (serve), or run on a
local server with a work pool and a worker (server, behind `make server`)."""
