"""The Gradio API endpoint stays usable from gradio_client (2.x)."""

from __future__ import annotations


def test_gradio_client_ask(live_server):
    from gradio_client import Client

    client = Client(live_server.url, verbose=False)
    result = client.predict(question="Who chaired the first meeting of the coalition of the willing?",
                            api_name="/ask")
    assert "Healey" in result["answer"]
    assert result["citations"]
    assert result["citations"][0]["article_id"] == "uk-urges-coalition-ukraine-planning"
    assert "[1]" in result["answer"]


def test_gradio_client_sees_only_the_documented_endpoint(live_server):
    from gradio_client import Client

    info = Client(live_server.url, verbose=False).view_api(print_info=False, return_format="dict")
    assert list(info["named_endpoints"]) == ["/ask"]
