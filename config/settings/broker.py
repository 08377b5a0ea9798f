"""Broker choice for zero-setup runs: Redis when it answers, otherwise kombu's filesystem transport."""

from pathlib import Path

import redis


def redis_answers(url: str, timeout: float = 0.3) -> bool:
    """True when a Redis server at `url` replies to PING within `timeout` seconds."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        return bool(client.ping())
    except (redis.RedisError, OSError, ValueError):
        return False


def filesystem_broker_options(var_dir: Path) -> dict[str, object]:
    """Transport options for kombu's filesystem broker; one folder serves producers and consumers."""
    queue_dir = var_dir / "celery" / "queue"
    processed_dir = var_dir / "celery" / "processed"
    queue_dir.mkdir(parents=True, exist_ok=True)
    processed_dir.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(queue_dir),
        "data_folder_out": str(queue_dir),
        "processed_folder": str(processed_dir),
        "store_processed": False,
    }
