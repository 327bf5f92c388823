"""`fasttext_lid`: the compiled predict gives the fastText library's label and float32 probability, bit for bit, on
real text of many languages (lid.176.ftz: pruned, product-quantized, hs loss) and on models trained here that take
the other paths (dense and quantized-with-norms input, minn 1, word bigrams); a model it does not compute (softmax loss) is
refused and the language step then uses the library."""

from __future__ import annotations

import bz2
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jacorpus.corpus import language
from jacorpus.corpus.dedup import hashing
from jacorpus.corpus.fasttext_lid import FastTextLID, UnsupportedModel
from jacorpus.corpus.language import lid_model_path, lid_predictor, load_fasttext, predict_language, sample_for_lid
from jacorpus.corpus.quality_labels import read_labels

# what fastText's tokenizer and dictionary do with odd input: the seven separators (\0 among them), a token that is
# a label (dropped), "</s>" inside the line (ends it), one byte, long words, characters outside the BMP
EDGE_CASES = [
    "こんにちは 世界", "hello world", "a", "日", "__label__ja 日本語の文章です", "__label__ja", "__label__zz 中文",
    "日本 </s> english words here", "</s>", "x\ty\x00z\x0bw\x0c\rv", "Ceci est une phrase en français.",
    "这是中文句子，没有假名。", "한국어 문장입니다", "😀🎉 絵文字だけ 🍣", "  leading and trailing  ", "字" * 3000,
    "Привет, как дела?", "مرحبا بالعالم", "ภาษาไทย", "__label_ not a label", "<s> <> >< < >",
]


def library_predict(model, text: str) -> tuple[str, float]:
    labels, probs = model.predict(text, k=1)
    return (labels[0].removeprefix("__label__"), float(probs[0])) if len(labels) else ("", 0.0)


@pytest.fixture(scope="module")
def real_texts(shared_data) -> list[str]:
    """Japanese web documents and mC4 lines, English and Japanese Wikipedia, a Japanese novel: one line each."""
    abeja = json.loads((shared_data / "cc_ja_text_abeja_cc_ja" / "dataset.json").read_text(encoding="utf-8"))
    texts = [item["text"] for items in abeja.values() for item in items]
    texts += [t for t, _ in read_labels(str(shared_data / "mc4_ja_quality_labels" / "annotations_.txt")).examples]
    for name in ("enwiki-2022-pages-articles-sample.xml.bz2", "jawiki-2022-07-pages-articles-sample.xml.bz2"):
        with bz2.open(shared_data / "jawiki_xml" / name, "rt", encoding="utf-8") as fh:
            xml = fh.read(3_000_000)
        texts += [m[:3000] for m in re.findall(r"<text[^>]*>(.*?)</text>", xml, flags=re.S)][:150]
    neko = next((shared_data / "plain_text_ja_neko_aozora").rglob("*.txt")).read_text(encoding="utf-8")
    texts += [neko[i : i + 1500] for i in range(0, 150_000, 1500)]
    return [s for s in (sample_for_lid(t, 2000) for t in texts) if s]


def test_lid176_predictions_equal_the_library_bit_for_bit(real_texts):
    library = load_fasttext(lid_model_path())
    compiled = FastTextLID(lid_model_path())
    lines = EDGE_CASES + real_texts
    expected = [library_predict(library, t) for t in lines]
    got = [compiled.predict(t) for t in lines]
    differ = [(t[:40], e, g) for t, e, g in zip(lines, expected, got) if e != g]
    assert differ == []
    labels = {label for label, _ in expected}
    assert {"ja", "en", "zh", "ko", "fr", "ru", "ar", "th"} <= labels, labels  # not one label for everything
    assert len(lines) > 900


def test_newline_is_refused_as_by_the_library():
    with pytest.raises(ValueError, match="one line"):
        FastTextLID(lid_model_path()).predict("一行目\n二行目")
    with pytest.raises(ValueError, match="one line"):
        load_fasttext(lid_model_path()).predict("一行目\n二行目")


TRAIN = r"""
import sys, fasttext
train, out, loss = sys.argv[1], sys.argv[2], sys.argv[3]
model = fasttext.train_supervised(input=train, loss=loss, dim=8, epoch=25, lr=0.5, minn=1, maxn=3, wordNgrams=2,
                                  bucket=20000, minCount=1, thread=1, seed=1, verbose=0)
model.save_model(out + ".bin")
"""
# quantizing a model trained in the same process crashes fastText 0.9.2 (SIGSEGV): a second child loads and quantizes
QUANTIZE = r"""
import sys, fasttext
model = fasttext.load_model(sys.argv[1] + ".bin")
model.quantize(qnorm=True, dsub=3)  # dim 8 in sub-vectors of 3: the last one is shorter; row norms quantized
model.save_model(sys.argv[1] + ".qnorm.ftz")
"""


@pytest.fixture(scope="module")
def trained_models(tmp_path_factory, shared_data) -> Path:
    """Small models on the labelled mC4 lines, trained in a child process (fastText 0.9.2 can start a second training
    in one process from uninitialised memory, see classifier.py)."""
    work = tmp_path_factory.mktemp("fasttext")
    examples = read_labels(str(shared_data / "mc4_ja_quality_labels" / "annotations_.txt")).examples
    train = work / "train.txt"
    train.write_text("".join(f"__label__{label} {text}\n" for text, label in examples), encoding="utf-8")
    for loss in ("hs", "softmax"):
        subprocess.run([sys.executable, "-c", TRAIN, str(train), str(work / loss), loss], check=True)
    subprocess.run([sys.executable, "-c", QUANTIZE, str(work / "hs")], check=True)
    return work


@pytest.mark.parametrize("name", ["hs.bin", "hs.qnorm.ftz"])
def test_other_model_layouts_equal_the_library(trained_models, real_texts, name):
    import fasttext

    path = str(trained_models / name)
    library, compiled = fasttext.load_model(path), FastTextLID(path)
    lines = EDGE_CASES + real_texts[:400]
    expected = [library_predict(library, t) for t in lines]
    assert [compiled.predict(t) for t in lines] == expected
    assert len({label for label, _ in expected}) >= 2
    assert len({prob for _, prob in expected}) > 300  # a trained model: every row moves the probability


def test_a_model_it_does_not_compute_is_refused_and_the_library_answers(trained_models):
    import fasttext

    path = str(trained_models / "softmax.bin")
    with pytest.raises(UnsupportedModel):
        FastTextLID(path)
    predict = lid_predictor(path)
    assert predict("日本語の文章です") == library_predict(fasttext.load_model(path), "日本語の文章です")


def test_language_step_uses_the_compiled_model_and_agrees_without_numba(real_texts, monkeypatch):
    assert hashing.compiled_kernels(), "numba is in the lock: the compiled path must be the one in use"
    assert isinstance(lid_predictor(lid_model_path()).__self__, FastTextLID)
    with_kernel = [predict_language(t) for t in real_texts[:300]]
    monkeypatch.setattr(hashing, "compiled_kernels", lambda: False)
    assert not hasattr(lid_predictor(lid_model_path()), "__self__")  # the library's function, no FastTextLID
    assert [predict_language(t) for t in real_texts[:300]] == with_kernel
    assert {key[2] for key in language._PREDICTORS if key[0] == lid_model_path()} == {True, False}
