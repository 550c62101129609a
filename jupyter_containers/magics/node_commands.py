"""``%container swarm ...`` and ``%container node ...``: the swarm this engine is in, and its nodes
(the services' commands are in ``swarm_commands``, whose helpers these share)."""

from __future__ import annotations

import pandas as pd

from ..engine import InvalidArgument
from ..engine import spec_parse as sp
from .container import container_commands as cli
from .display import JSONView, Text
from .registry import arg
from .swarm_commands import count, duration, flag, many


# -- swarm ------------------------------------------------------------------------------------------
def _manager_address(ctx) -> str:
    state = ctx.engine.system.info().get("Swarm") or {}
    managers = state.get("RemoteManagers") or []
    mine = [m["Addr"] for m in managers if m.get("NodeID") == state.get("NodeID")]
    return (mine or [m["Addr"] for m in managers] or [f"{state.get('NodeAddr', '')}:2377"])[0]


def _join_text(ctx, role: str) -> str:
    token = ctx.engine.swarm.join_token(role)
    return (f"To add a {role} to this swarm, run this on its engine:\n"
            f"    %container swarm join --token {token} {_manager_address(ctx)}")


@cli.command("swarm init", "Make this engine a one-node swarm's manager",
             arg("--advertise-addr", help="address other nodes reach this one at (IP or interface[:port])"),
             arg("--listen-addr", default="0.0.0.0:2377", help="address[:port] to listen on (default 0.0.0.0:2377)"),
             flag("--force-new-cluster", default=False, help="force a new cluster from the current state"),
             many("--default-addr-pool", metavar="CIDR", help="address pool for global scope networks"),
             arg("--default-addr-pool-mask-length", type=count, help="subnet size of networks from the pool"),
             arg("--data-path-port", type=count, help="port for data path traffic (VXLAN; default 4789)"),
             arg("--task-history-limit", type=count, help="task history to keep per slot (default 5)"))
def swarm_init(ctx, args):
    spec = {"Orchestration": {"TaskHistoryRetentionLimit": args.task_history_limit}} \
        if args.task_history_limit is not None else None
    node = ctx.engine.swarm.init(args.advertise_addr, listen_addr=args.listen_addr,
                                 force_new_cluster=args.force_new_cluster, default_addr_pool=args.default_addr_pool,
                                 subnet_size=args.default_addr_pool_mask_length, data_path_port=args.data_path_port,
                                 spec=spec)
    return Text(f"Swarm initialized: current node ({node}) is now a manager.\n{_join_text(ctx, 'worker')}\n"
                "To add a manager: %container swarm join-token manager")


@cli.command("swarm join", "Join this engine to a swarm as a worker or a manager (the token says which)",
             arg("--token", required=True, help="the join token (%%container swarm join-token on a manager)"),
             arg("--advertise-addr"), arg("--listen-addr", default="0.0.0.0:2377"),
             arg("address", metavar="HOST:PORT", help="a manager's address"))
def swarm_join(ctx, args):
    ctx.engine.swarm.join([args.address], args.token, advertise_addr=args.advertise_addr,
                          listen_addr=args.listen_addr)
    role = "manager" if ctx.engine.swarm.manager else "worker"
    return Text(f"This node joined a swarm as a {role}.")


@cli.command("swarm join-token", "The command (or with -q the token) that joins a node as a worker or a manager",
             arg("-q", "--quiet", action="store_true", help="only the token"),
             arg("--rotate", action="store_true", help="replace the token first (the old one stops working)"),
             arg("role", choices=("worker", "manager")))
def swarm_join_token(ctx, args):
    if args.rotate:
        ctx.engine.swarm.join_token(args.role, rotate=True)
    return Text(ctx.engine.swarm.join_token(args.role) if args.quiet else _join_text(ctx, args.role))


@cli.command("swarm leave", "Take this engine out of its swarm (--force for a manager: the last one ends it)",
             arg("-f", "--force", action="store_true", help="leave even as a manager"))
def swarm_leave(ctx, args):
    if not args.force and ctx.engine.swarm.active and ctx.engine.swarm.manager:
        raise InvalidArgument("this node is a manager of the swarm: leaving loses its quorum, and with the last "
                              "manager the swarm's state; demote it first, or leave with --force")
    ctx.engine.swarm.leave(force=args.force)
    return Text("Node left the swarm.")


@cli.command("swarm info", "The swarm's settings and state (JSON; the join tokens: %container swarm join-token)")
def swarm_info(ctx, args):
    info = ctx.engine.swarm.info()
    info.pop("JoinTokens", None)
    return JSONView(info, root="swarm")


@cli.command("swarm update", "Change the swarm's settings",
             arg("--task-history-limit", type=count, help="task history to keep per slot"),
             duration("--cert-expiry", "validity of node certificates"),
             duration("--dispatcher-heartbeat", "heartbeat period of the nodes"),
             arg("--snapshot-interval", type=count, help="raft log entries between snapshots"),
             flag("--autolock", help="lock managers when they restart (they need the unlock key)"))
def swarm_update(ctx, args):
    changes = {key: getattr(args, key) for key in ("task_history_limit", "cert_expiry", "dispatcher_heartbeat",
                                                   "snapshot_interval", "autolock") if getattr(args, key) is not None}
    if not changes:
        raise InvalidArgument("say what to change, e.g. --task-history-limit 2")
    ctx.engine.swarm.update(**changes)
    return Text("Swarm updated.")


# -- nodes ------------------------------------------------------------------------------------------
def _node(ctx, ref: str) -> str:
    """``self`` is this engine's node, as for the CLI."""
    if ref == "self":
        return (ctx.engine.system.info().get("Swarm") or {}).get("NodeID") or ref
    return ref


NODE_COLUMNS = ["id", "hostname", "status", "availability", "manager status", "engine version"]


@cli.command("node ls", "The swarm's nodes (a DataFrame)",
             many("-f", "--filter", metavar="KEY=VALUE", help="e.g. role=manager, label=zone=a"),
             arg("-q", "--quiet", action="store_true", help="only the ids"))
def node_ls(ctx, args):
    nodes = ctx.engine.nodes.list(filters=args.filter)
    if args.quiet:
        return Text("\n".join(n["ID"] for n in nodes))
    rows = []
    for node in nodes:
        manager = node.get("ManagerStatus") or {}
        rows.append((node["ID"], (node.get("Description") or {}).get("Hostname", ""),
                     (node.get("Status") or {}).get("State", "").capitalize(),
                     (node.get("Spec") or {}).get("Availability", "").capitalize(),
                     "Leader" if manager.get("Leader") else str(manager.get("Reachability", "")).capitalize(),
                     ((node.get("Description") or {}).get("Engine") or {}).get("EngineVersion", "")))
    return pd.DataFrame(sorted(rows, key=lambda r: r[1]), columns=NODE_COLUMNS)


@cli.command("node inspect", "A node's details (JSON; self: this engine's node)", arg("node"))
def node_inspect(ctx, args):
    return JSONView(ctx.engine.nodes.inspect(_node(ctx, args.node)), root=args.node)


@cli.command("node update", "Change a node: availability (drain moves its tasks off), role, labels",
             arg("--availability", choices=("active", "pause", "drain")),
             arg("--role", choices=("worker", "manager")),
             many("--label-add", metavar="KEY[=VALUE]"), many("--label-rm", metavar="KEY"), arg("node"))
def node_update(ctx, args):
    ctx.engine.nodes.update(_node(ctx, args.node), availability=args.availability, role=args.role,
                            labels=sp.parse_map(args.label_add, "--label-add", require_value=False),
                            remove_labels=args.label_rm)
    return Text(args.node)


@cli.command("node rm", "Remove nodes from the swarm (-f: one that is still up)",
             arg("-f", "--force", action="store_true"), arg("nodes", nargs="+", metavar="NODE"))
def node_rm(ctx, args):
    for ref in args.nodes:
        ctx.engine.nodes.remove(_node(ctx, ref), force=args.force)
    print(f"removed: {', '.join(args.nodes)}")
