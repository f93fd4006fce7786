"""What every SDK script shares: `attempt` runs one SDK call and reports
either its result or the error it raised, for the Rust test to assert on
(never the exception's traceback: the test reads one JSON object)."""


def attempt(call, limit=600):
    """{"ok": result}, or {"error", "status", "code", "message"} when the
    call raises (the message cut at `limit` characters)."""
    try:
        return {"ok": call()}
    except Exception as e:  # reported, the Rust test asserts on it
        error = getattr(e, "error", None)
        return {"error": type(e).__name__, "status": getattr(e, "status_code", None),
                "code": getattr(error, "code", None), "message": str(e)[:limit]}
