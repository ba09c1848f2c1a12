"""What the agent panel needs of a suggestion beyond the shape the CLI prints.

`POST /api/suggest` answers with `Suggestion.to_dict()` plus one field, `panel`: the
suggestion's notes and each draft's explanation lines in Chinese (one table, in
messages.py, for the console and the panel), each hit's question and the phrasing it matched
on in the customer's script (the match card, the 为什么 box and a 备选 draft's label show them
beside drafts in that script), and the
entry the drafts answer, which the panel shows as the match (the top hit may be one the
assistant left out, another region's entry for one), and whether the message is small talk
(a greeting or thanks, answered by a 话术 line: its no-match flag is no missing answer to
report, so the panel shows no no-match card), and each blank of the drafts' variables in
either script (an agent may type 【請填寫訂單號】 into a simplified draft). The browser has
no OpenCC and should not keep a second copy of the note table, so the server says it all.
"""

from __future__ import annotations

from kefu.kb.feedback import answered_hit
from kefu.kb.text import TRADITIONAL, to_mainland, to_traditional
from kefu.suggest.draft import blank_forms
from kefu.suggest.understand import CHIT_CHAT

from .messages import note_zh


def panel_view(suggestion: dict, message: str, context: list[dict], traditional: str) -> dict:
    """The `panel` field for `suggestion` (a Suggestion's dict) of `message` after
    `context`; `traditional`: the OpenCC wording configured for traditional drafts."""
    from kefu.suggest.assistant import wording

    if suggestion["script"] == TRADITIONAL:
        # The wording the drafts got: the customer's own words may call for Hong Kong's or
        # Taiwan's (as the assistant decides it), else the configured one.
        customer = [t["text"] for t in reversed(context) if t.get("role", "customer") == "customer"]
        config = wording([message] + customer) or traditional

        def in_script(text: str) -> str:
            return to_traditional(text, config)
    else:
        in_script = to_mainland
    return {
        "notes": [note_zh(n) for n in suggestion["notes"]],
        "explanations": [[note_zh(line) for line in d["explanation"]] for d in suggestion["drafts"]],
        "questions": {h["id"]: in_script(h["question"]) for h in suggestion["hits"]},
        "matched": {h["id"]: in_script(h["matched"]) for h in suggestion["hits"] if h.get("matched")},
        "entry": answered_hit(suggestion["hits"], suggestion["drafts"]),
        "small_talk": suggestion.get("intent") in CHIT_CHAT,
        "blanks": _blanks(suggestion["drafts"]),
    }


def _blanks(drafts: list[dict]) -> dict[str, str]:
    """Each blank a draft's variable may be written as, in either script, and the variable
    (simplified): {"【請填寫訂單號】": "订单号", "【请填写订单号】": "订单号"}."""
    names = [n for d in drafts for n in d["missing_variables"] + [s["variable"] for s in d["slots"]]]
    return {form: name for name in dict.fromkeys(names) for form in blank_forms(name)}
