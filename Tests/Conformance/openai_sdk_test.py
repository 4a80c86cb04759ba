"""popi's OpenAI-compatible API driven by the official `openai` Python SDK, unmodified.

Run by scripts/openai-sdk-test.sh against a running `popi serve`: POPI_URL (e.g.
http://127.0.0.1:8080) and POPI_KEY (a key with read, write and generate scopes).
"""

import json
import os
import urllib.request
import uuid

import openai
import pytest
from openai import OpenAI

URL = os.environ["POPI_URL"].rstrip("/")
KEY = os.environ["POPI_KEY"]
MODEL = "popi-local"
# Greedy and short: the same request gives the same text, whether streamed or not.
GREEDY = {"max_tokens": 8, "temperature": 0, "seed": 7}


@pytest.fixture(scope="module")
def client():
    with OpenAI(base_url=f"{URL}/v1", api_key=KEY, max_retries=0, timeout=300) as sdk:
        yield sdk


def popi(method, path, body=None):
    """A plain HTTP call to popi's own API (setting up users and summaries)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{URL}{path}", data=data, method=method, headers={
        "Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def personalized_user():
    """A user with a pinned summary (an edited one: no refresh job has to run first)."""
    user = f"sdk-{uuid.uuid4().hex[:12]}"
    popi("POST", f"/v1/users/{user}/feedback", {"kind": "statement", "text": "I am a pirate and like pirate talk."})
    summary = popi("PUT", f"/v1/users/{user}/summary",
                   {"text": "The user loves pirate speech: answer like a pirate, with 'Arr!' and nautical words."})
    assert summary["pinned"] is True and summary["origin"] == "edited"
    return user, summary["version"]


MESSAGES = [{"role": "user", "content": "Name one colour of the sky."}]


def test_models_list_names_the_local_model(client):
    models = client.models.list()
    ids = [model.id for model in models.data]
    assert MODEL in ids
    local = next(model for model in models.data if model.id == MODEL)
    assert local.object == "model"
    assert local.owned_by == "popi"
    assert isinstance(local.created, int) and local.created > 0


def test_completion(client):
    completion = client.chat.completions.create(model=MODEL, messages=MESSAGES, **GREEDY)
    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == MODEL
    assert len(completion.choices) == 1
    choice = completion.choices[0]
    assert choice.index == 0
    assert choice.message.role == "assistant"
    assert isinstance(choice.message.content, str) and choice.message.content
    assert choice.finish_reason in ("stop", "length")
    usage = completion.usage
    assert 0 < usage.completion_tokens <= GREEDY["max_tokens"]
    assert usage.prompt_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert completion.model_extra["popi"] == {"personalized": False, "summary_version": None}


def test_streaming_with_usage_matches_the_plain_completion(client):
    plain = client.chat.completions.create(model=MODEL, messages=MESSAGES, **GREEDY)
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True,
                                            stream_options={"include_usage": True}, **GREEDY)
    chunks = list(stream)
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    assert len({chunk.id for chunk in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    with_choices = [chunk for chunk in chunks if chunk.choices]
    assert with_choices[0].choices[0].delta.role == "assistant"
    finished = [chunk for chunk in with_choices if chunk.choices[0].finish_reason is not None]
    assert len(finished) == 1 and finished[0] is with_choices[-1]
    assert finished[0].choices[0].finish_reason == plain.choices[0].finish_reason
    text = "".join(chunk.choices[0].delta.content or "" for chunk in with_choices)
    assert text == plain.choices[0].message.content
    # include_usage: one last chunk with no choices and the usage.
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.prompt_tokens == plain.usage.prompt_tokens
    assert last.usage.completion_tokens == plain.usage.completion_tokens
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
    assert all(chunk.usage is None for chunk in chunks[:-1])


def test_streaming_without_usage_sends_none(client):
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True, **GREEDY)
    chunks = list(stream)
    assert chunks and all(chunk.usage is None and len(chunk.choices) == 1 for chunk in chunks)
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")


def test_user_field_personalizes_with_the_summary(client, personalized_user):
    user, version = personalized_user
    bare = client.chat.completions.create(model=MODEL, messages=MESSAGES, **GREEDY)
    personal = client.chat.completions.create(model=MODEL, messages=MESSAGES, user=user, **GREEDY)
    assert personal.model_extra["popi"] == {"personalized": True, "summary_version": version}
    # The summary went into the prompt.
    assert personal.usage.prompt_tokens > bare.usage.prompt_tokens


def test_x_popi_user_header_personalizes_when_user_is_absent(client, personalized_user):
    user, version = personalized_user
    completion = client.chat.completions.create(model=MODEL, messages=MESSAGES,
                                                extra_headers={"X-Popi-User": user}, **GREEDY)
    assert completion.model_extra["popi"] == {"personalized": True, "summary_version": version}


def test_streamed_personalization_reports_the_summary(client, personalized_user):
    user, version = personalized_user
    chunks = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, user=user, stream=True,
                                                 stream_options={"include_usage": True}, **GREEDY))
    assert chunks[-1].model_extra["popi"] == {"personalized": True, "summary_version": version}


def test_unknown_user_is_not_personalized(client):
    completion = client.chat.completions.create(model=MODEL, messages=MESSAGES, user="nobody-" + uuid.uuid4().hex,
                                                **GREEDY)
    assert completion.model_extra["popi"]["personalized"] is False


def test_unknown_model_is_a_not_found_error(client):
    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(model="no-such-model", messages=MESSAGES, **GREEDY)
    assert raised.value.status_code == 404
    assert raised.value.code == "model_not_found"


def test_invalid_request_is_a_bad_request_error(client):
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=0)
    assert raised.value.status_code == 400
    assert raised.value.code == "invalid_request"
    assert "max_tokens" in raised.value.message


def test_streaming_request_errors_before_the_stream(client):
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL, messages=[{"role": "tool", "content": "x"}], stream=True)


def test_wrong_key_is_an_authentication_error():
    with OpenAI(base_url=f"{URL}/v1", api_key="popi_notakey_0000000000000000000000000000000000", max_retries=0) as sdk:
        with pytest.raises(openai.AuthenticationError) as raised:
            sdk.models.list()
    assert raised.value.status_code == 401

