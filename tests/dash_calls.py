"""Call a Dash callback through the real endpoint, exactly as the browser does."""

from __future__ import annotations


def _output_spec(outputs: list[tuple[str, str]]):
    specs = [{"id": cid, "property": prop} for cid, prop in outputs]
    if len(specs) == 1:
        return f"{outputs[0][0]}.{outputs[0][1]}", specs[0]
    return "..{}..".format("...".join(f"{c}.{p}" for c, p in outputs)), specs


def callback_body(
    outputs: list[tuple[str, str]],
    inputs: list[tuple[str, str, object]],
    state: list[tuple[str, str, object]] | None = None,
) -> dict:
    output, spec = _output_spec(outputs)
    return {
        "output": output,
        "outputs": spec,
        "inputs": [{"id": c, "property": p, "value": v} for c, p, v in inputs],
        "state": [{"id": c, "property": p, "value": v} for c, p, v in state or []],
        "changedPropIds": [f"{c}.{p}" for c, p, _ in inputs[:1]],
    }


def dash_call(
    client,
    outputs: list[tuple[str, str]],
    inputs: list[tuple[str, str, object]],
    state: list[tuple[str, str, object]] | None = None,
):
    """POST to /_dash-update-component; returns the response (check .status_code)."""
    return client.post("/_dash-update-component", json=callback_body(outputs, inputs, state))


def dash_result(client, outputs, inputs, state=None) -> dict:
    """The callback's outputs as {component_id: {property: value}}; fails on a non-200."""
    response = dash_call(client, outputs, inputs, state)
    assert response.status_code == 200, (response.status_code, response.data[:300])
    return response.get_json()["response"]


def find_callback(app, output: str, input_id: str | None = None) -> tuple[str, dict]:
    """The registered callback writing `output` ("id.property"); with several (duplicate
    outputs), the one that reads `input_id`."""
    found = []
    for key, spec in app.callback_map.items():
        parts = key.strip(".").split("...") if key.startswith("..") else [key]
        if output in [p.split("@", 1)[0] for p in parts]:
            found.append((key, spec))
    if input_id is not None and len(found) > 1:
        found = [(k, s) for k, s in found if any(i["id"] == input_id for i in s["inputs"])]
    if not found:
        raise KeyError(f"no callback writes {output}")
    return found[0]


def callback_outputs(app, output: str, input_id: str | None = None) -> list[tuple[str, str]]:
    """All outputs of the registered callback that writes `output` ("id.property")."""
    key, _ = find_callback(app, output, input_id)
    parts = key.strip(".").split("...") if key.startswith("..") else [key]
    return [tuple(p.rsplit(".", 1)) for p in parts]  # type: ignore[misc]


def run_callback(
    client,
    app,
    output: str,
    inputs: list[tuple[str, str, object]],
    state: list[tuple[str, str, object]] | None = None,
) -> dict:
    """Call the callback that writes `output` with all its outputs; returns the response
    as {component_id: {property: value}}."""
    outputs = callback_outputs(app, output, inputs[0][0] if inputs else None)
    return dash_result(client, outputs, inputs, state)
