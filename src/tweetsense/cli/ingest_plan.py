"""What `tweetsense ingest --dry-run` prints: windows, requests, posts, cost and time at most."""

from __future__ import annotations

from rich.console import Console

from tweetsense import registry
from tweetsense.pipeline.core import Pipeline
from tweetsense.pipeline.ingest import IngestPlan, plan
from tweetsense.timeutil import format_duration


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _price(value: float) -> str:
    return f"${value:.4f}".rstrip("0").rstrip(".") if value else "$0"


def _span(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}min" if minutes else ""]
    parts.append(f"{secs}s" if secs else "")
    return " ".join(p for p in parts if p)


def _counts(requests: int) -> str:
    return f"{requests:,} counts request{'' if requests == 1 else 's'}"


def print_plan(out: Console, plan: IngestPlan, prices: tuple[float, float] | None) -> None:
    out.print(f"dry run ({plan.source} source): no request sent", highlight=False, soft_wrap=True)
    out.print(
        f"windows: {plan.windows:,} ({plan.to_fetch:,} to fetch, {plan.done:,} already staged)",
        highlight=False,
        soft_wrap=True,
    )
    cap = plan.per_window
    if cap is None:
        out.print(
            "posts: unbounded (search.max_per_window is null); set it to bound requests, "
            "posts and cost",
            highlight=False,
            soft_wrap=True,
        )
        return
    est = plan.estimate
    if est is not None and est.requests is not None:
        counts = ""
        if est.count_requests:
            counts = f" + {_counts(est.count_requests)} (the windows' true volume)"
        out.print(f"requests: at most {est.requests:,}{counts}", highlight=False, soft_wrap=True)
    out.print(
        f"posts: at most {plan.to_fetch * cap:,} ({cap:,} per window)",
        highlight=False,
        soft_wrap=True,
    )
    if est is None or est.cost is None or prices is None:
        return
    post_price, user_price = prices
    counts = ""
    if est.count_requests:
        count_price = est.count_cost / est.count_requests
        counts = (
            f", {_counts(est.count_requests)} x {_price(count_price)} = {_money(est.count_cost)}"
        )
    out.print(
        f"estimated cost: at most {_money(est.cost)} ({est.posts:,} posts x "
        f"{_price(post_price)} = {_money(est.post_cost)}, up to {est.users:,} authors x "
        f"{_price(user_price)} = {_money(est.user_cost)}{counts})",
        highlight=False,
        soft_wrap=True,
    )
    out.print(
        f"minimum time under the rate limit: {_span(est.min_seconds)} "
        f"({est.limit:,} requests per {format_duration(int(est.period))})",
        highlight=False,
        soft_wrap=True,
    )


def print_dry_run(out: Console, p: Pipeline, *, refetch: bool = False) -> None:
    settings = registry.settings_for("source", p.config.source)
    prices = getattr(settings, "prices", None)
    print_plan(out, plan(p, refetch=refetch), (prices.post, prices.user) if prices else None)
