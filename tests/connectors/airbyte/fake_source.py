"""A tiny Airbyte source speaking the protocol, with faults chosen by its config (tests only).

Streams: `events` (incremental, primary key `id`, cursor `updated_at`), `snapshot` (full refresh,
primary key `id`) and `notes` (incremental, no primary key). Config keys: `count` events,
`state_every` (a STATE after every n events), `snapshot` rows, `notes` rows, `state_kind`
(STREAM / GLOBAL / LEGACY), `fault` with `fault_at` (after that many events): garbage, exit,
hang, memory, undeclared, backwards, trace, kill_after_state (SIGKILL itself after the k-th STATE).
Run as `python fake_source.py spec|check|discover|read --config c.json [--catalog k.json] [--state s.json]`.
"""

import json
import os
import signal
import sys
import time


def emit(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def arg(name):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else None


def load(name):
    path = arg(name)
    if path is None:
        return None
    with open(path) as handle:
        return json.load(handle)


SPEC = {
    "type": "object",
    "required": ["count"],
    "properties": {
        "count": {"type": "integer", "title": "Events", "minimum": 0, "order": 0},
        "state_every": {"type": "integer", "default": 3},
        "api_key": {"type": "string", "airbyte_secret": True, "title": "API key"},
        "fault": {
            "type": "string",
            "enum": ["", "garbage", "exit", "hang", "memory", "undeclared", "backwards", "trace", "kill_after_state"],
        },
    },
}

STREAMS = [
    {
        "name": "events",
        "json_schema": {
            "type": "object",
            "properties": {"id": {"type": "integer"}, "updated_at": {"type": "integer"}, "label": {"type": "string"}},
        },
        "supported_sync_modes": ["full_refresh", "incremental"],
        "source_defined_cursor": True,
        "default_cursor_field": ["updated_at"],
        "source_defined_primary_key": [["id"]],
    },
    {
        "name": "snapshot",
        "json_schema": {"type": "object", "properties": {"id": {"type": "integer"}, "size": {"type": "integer"}}},
        "supported_sync_modes": ["full_refresh"],
        "source_defined_primary_key": [["id"]],
    },
    {
        "name": "notes",
        "json_schema": {"type": "object", "properties": {"text": {"type": "string"}, "at": {"type": "integer"}}},
        "supported_sync_modes": ["full_refresh", "incremental"],
        "source_defined_cursor": True,
        "default_cursor_field": ["at"],
    },
]


def state_message(kind, stream, value):
    if kind == "GLOBAL":
        return {
            "type": "STATE",
            "state": {
                "type": "GLOBAL",
                "global": {
                    "shared_state": {"v": 1},
                    "stream_states": [{"stream_descriptor": {"name": stream}, "stream_state": value}],
                },
            },
        }
    if kind == "LEGACY":
        return {"type": "STATE", "state": {"data": {stream: value}}}
    return {
        "type": "STATE",
        "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": stream}, "stream_state": value}},
    }


def start_from(state, kind):
    """The last `updated_at` the platform saw for events, from whatever form of state we got."""
    if not state:
        return 0
    if isinstance(state, dict):  # LEGACY: the blob itself
        return int((state.get("events") or {}).get("updated_at", 0))
    for item in state:
        if item.get("type") == "GLOBAL":
            for s in item["global"]["stream_states"]:
                if s["stream_descriptor"]["name"] == "events":
                    return int(s["stream_state"].get("updated_at", 0))
        elif item.get("type") == "STREAM" and item["stream"]["stream_descriptor"]["name"] == "events":
            return int(item["stream"]["stream_state"].get("updated_at", 0))
    return 0


def read(config, catalog, state):
    chosen = {item["stream"]["name"] for item in catalog["streams"]}
    kind = config.get("state_kind", "STREAM")
    fault, fault_at = config.get("fault", ""), int(config.get("fault_at", 0))
    every = int(config.get("state_every", 3))
    count = int(config.get("count", 10))
    first = start_from(state, kind) + 1
    emit({"type": "LOG", "log": {"level": "INFO", "message": f"reading events from {first}"}})
    states = 0
    if "events" in chosen:
        emit(
            {
                "type": "TRACE",
                "trace": {
                    "type": "ESTIMATE",
                    "emitted_at": 0,
                    "estimate": {"name": "events", "type": "STREAM", "row_estimate": max(0, count - first + 1)},
                },
            }
        )
        for sent, i in enumerate(range(first, count + 1)):
            if fault and sent == fault_at:
                if fault == "garbage":
                    sys.stdout.write("Traceback? no: this is not a protocol message\n")
                    sys.stdout.flush()
                elif fault == "exit":
                    sys.stderr.write("boom: the platform said no\n")
                    sys.exit(3)
                elif fault == "hang":
                    time.sleep(3600)
                elif fault == "memory":
                    hoard = bytearray(3 * 1024**3)  # more than the address-space limit allows
                    hoard[0] = 1
                elif fault == "undeclared":
                    emit({"type": "RECORD", "record": {"stream": "secret_stream", "data": {"id": 1}, "emitted_at": 0}})
                elif fault == "backwards":
                    emit(state_message(kind, "events", {"updated_at": -5}))
                elif fault == "trace":
                    emit(
                        {
                            "type": "TRACE",
                            "trace": {
                                "type": "ERROR",
                                "emitted_at": 0,
                                "error": {
                                    "message": "The API key was rejected.",
                                    "internal_message": "401 Unauthorized",
                                    "failure_type": "config_error",
                                },
                            },
                        }
                    )
                    sys.exit(1)
            emit(
                {
                    "type": "RECORD",
                    "record": {
                        "stream": "events",
                        "data": {"id": i, "updated_at": i, "label": f"event {i}"},
                        "emitted_at": 0,
                    },
                }
            )
            if i % every == 0 or i == count:
                emit(state_message(kind, "events", {"updated_at": i}))
                states += 1
                if fault == "kill_after_state" and states == fault_at:
                    os.kill(os.getpid(), signal.SIGKILL)
    if "snapshot" in chosen:
        for i in range(1, int(config.get("snapshot", 0)) + 1):
            emit(
                {"type": "RECORD", "record": {"stream": "snapshot", "data": {"id": i, "size": i * 10}, "emitted_at": 0}}
            )
        emit(state_message("STREAM", "snapshot", {"__ab_no_cursor_state_message": True}))
    if "notes" in chosen:
        for i in range(1, int(config.get("notes", 0)) + 1):
            emit(
                {
                    "type": "RECORD",
                    "record": {"stream": "notes", "data": {"text": f"note {i % 3}", "at": i}, "emitted_at": 0},
                }
            )
        emit(state_message("STREAM", "notes", {"at": int(config.get("notes", 0))}))


def main():
    command = sys.argv[1]
    if command == "spec":
        emit({"type": "SPEC", "spec": {"connectionSpecification": SPEC, "documentationUrl": "https://example.invalid"}})
    elif command == "check":
        config = load("--config")
        ok = config.get("api_key") != "wrong"
        emit(
            {
                "type": "CONNECTION_STATUS",
                "connectionStatus": {
                    "status": "SUCCEEDED" if ok else "FAILED",
                    "message": "" if ok else "The API key is wrong.",
                },
            }
        )
    elif command == "discover":
        config = load("--config")
        streams = [dict(s) for s in STREAMS]
        if config.get("extra_column"):
            streams[0] = json.loads(json.dumps(streams[0]))
            streams[0]["json_schema"]["properties"]["colour"] = {"type": "string"}
        emit({"type": "CATALOG", "catalog": {"streams": streams}})
    elif command == "read":
        read(load("--config"), load("--catalog"), load("--state"))


if __name__ == "__main__":
    main()
