"""The chunker's word-piece budget follows the index's own model: its tokenizer, its limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.models.tokenizer import chunker_settings_for, max_seq_length
from index.models.weights import default_model_path, resolve_model
from ingest.chunking import Chunker, ChunkerSettings
from ingest.readers.text import read_text
from ingest.records import DocumentMeta, alnum_key
from ingest.tokens import count_tokens, tokenizer_counter

# One paragraph of ~150 cl100k tokens: under the soft budget (200) and under MiniLM's 256
# word pieces, so the default chunker keeps it whole; over 64 word pieces.
SENTENCES = [
    "The force reviewed domestic abuse cases from every district during the inspection period.",
    "Officers had assessed the risk to victims correctly in most of the cases we examined.",
    "Supervisors checked the quality of investigations and recorded clear plans for next steps.",
    "Call handlers did not always complete a structured risk assessment for repeat victims.",
    "The force has since introduced new training and an audit of the call-handling process.",
    "Partner agencies told us that information is now shared quickly through the safeguarding hub.",
    "Victims we spoke to were mostly positive about the support they received from officers.",
]
TEXT = "Findings\n\n" + " ".join(SENTENCES) + "\n"
META = DocumentMeta(doc_id="wp", title="Word pieces", source="wp.txt")


def _chunks(settings: ChunkerSettings | None = None):
    return Chunker(settings).chunk(read_text("wp.txt", TEXT), META)


def test_the_default_settings_and_their_manifest_record_are_unchanged():
    assert ChunkerSettings().to_dict() == {"max_tokens": 200, "min_tokens": 50, "model_max_length": 256,
                                           "model_path": None}
    assert chunker_settings_for(None) == chunker_settings_for("all-MiniLM-L6-v2") == ChunkerSettings()
    assert max_seq_length(default_model_path()) == 256


def test_a_chunk_is_split_by_the_given_tokenizer_and_limit(tmp_path):
    minilm = str(default_model_path() / "tokenizer.json")
    pieces = tokenizer_counter(minilm)
    whole = _chunks()
    assert len(whole) == 1  # fits MiniLM's 256 word pieces (and the cl100k budget)
    assert 64 < pieces(whole[0].embed_text()) <= 256 and count_tokens(whole[0].embed_text()) <= 200

    settings = ChunkerSettings(min_tokens=0, model_max_length=64, tokenizer_file=minilm)
    split = _chunks(settings)
    assert len(split) > 1
    for c in split:
        assert pieces(c.embed_text()) <= 64
        assert alnum_key(TEXT[c.char_start : c.char_end]) == alnum_key(c.text)
    assert alnum_key(" ".join(c.text for c in split)) == alnum_key(whole[0].text)  # nothing lost
    assert settings.to_dict()["tokenizer_file"] == minilm  # the manifest says whose pieces

    # Another tokenizer counts differently: one piece per word, no special tokens.
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import WhitespaceSplit

    words = Tokenizer(WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    words.pre_tokenizer = WhitespaceSplit()
    words.save(str(tmp_path / "tokenizer.json"))
    by_words = _chunks(ChunkerSettings(min_tokens=0, model_max_length=40, tokenizer_file=str(tmp_path / "tokenizer.json")))
    assert len(by_words) > 1
    assert all(len(c.embed_text().split()) <= 40 for c in by_words)
    assert [c.text for c in by_words] != [c.text for c in split]


def test_a_tokenizer_file_that_is_not_there_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="No tokenizer file"):
        Chunker(ChunkerSettings(tokenizer_file=str(tmp_path / "missing" / "tokenizer.json")))


def test_settings_for_mpnet_use_its_tokenizer_and_its_384_piece_limit():
    folder = resolve_model("all-mpnet-base-v2")[1]
    settings = chunker_settings_for("all-mpnet-base-v2")
    assert settings.model_max_length == max_seq_length(folder) == 384
    assert Path(settings.tokenizer_file) == folder / "tokenizer.json"
    assert settings.max_tokens == ChunkerSettings().max_tokens  # only the hard budget changes
