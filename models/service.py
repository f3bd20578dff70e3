"""The routing service: one loaded model version, today's department registry and the precedent index, together.

The CLI, the API and the staff page all call this object, so the same item gets the same answer through every door:
suggestions named by today's units, the configured review threshold, precedents, repeats of earlier years and
并案 groups. Each item is segmented once (the model's own segmenter) and encoded once (one vector serves its
precedents, its repeat check and 并案), and a batch is encoded in one batched call. The object is never changed
after it is built: a promotion or a registry change builds a new one and swaps it in as one unit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from models.admissibility import DEFAULT_GROUNDS, Ground, screen_batch
from models.bundle import Bundle, encoder_candidates, load_bundle, load_search_index
from models.classifier import Routing
from models.departments import DepartmentRegistry, UnknownDepartmentError
from models.knn_vote import index_vector_spec
from models.precision import precision_of
from models.results import (
    CoHandler,
    DuplicateGroup,
    LeadSuggestion,
    Precedent,
    Repeat,
    ReviewDecision,
    RoutedBatch,
    RoutedItem,
    Unit,
)
from models.search import SearchIndexError, SearchIndexFormatError, case_text

logger = logging.getLogger(__name__)

Item = tuple[str, str]


def reason_text(terms: Sequence[str], name: str) -> str:
    """A one-line reason in Chinese for a suggestion, from the terms that weighed most."""
    if not terms:
        return f"文本整体与{name}历年主办的案件最接近"
    quoted = "、".join(f"“{t}”" for t in terms[:4])
    return f"文中{quoted}等内容与{name}历年主办的案件高度相关"


def review_reason(top: float, threshold: float) -> str:
    return f"首选置信度 {top:.0%} 低于复核阈值 {threshold:.0%}，请人工确认主办单位"


UNCERTIFIED_REASON = ("本模型的训练案件不足以保证自动交办的准确率达到目标，所有建议都需人工确认主办单位"
                      "（办结案件增多后重新训练；或由管理员设置复核阈值 JIAOBAN_REVIEW_THRESHOLD）")


@dataclass(frozen=True)
class ServiceOptions:
    """How results are presented: the review threshold (None: the model's own), how many leads and precedents."""

    review_threshold: float | None = None
    top_k: int = 5
    precedents_k: int = 5
    grounds: tuple[Ground, ...] = DEFAULT_GROUNDS  # the admissibility pre-screen's not-filing grounds


@lru_cache(maxsize=4)
def cached_embedder(spec: str, threads: int | None = None, batching: bool = False, precision: str = "float32"):
    """Encoders load once per process (a few hundred MB each). ``batching``: concurrent calls are queued and
    encoded by one worker thread (models.batching), as a service under load needs."""
    from models.embeddings import load_embedder

    kwargs: dict = {} if precision == "float32" else {"precision": precision}
    if threads and not spec.startswith("hashing"):
        kwargs["num_threads"] = threads
    embedder = load_embedder(spec, **kwargs)
    if batching:
        from models.batching import BatchingEmbedder

        return BatchingEmbedder(embedder)
    return embedder


def load_index(bundle: Bundle, encoder: str | None, threads: int | None = None, *, batching: bool = False):
    """(index, None), or (None, why not). The encoder the index was built with wins over the configured one; it is
    found by its fingerprint among ``models.bundle.encoder_candidates``, at the precision the index records."""
    if not bundle.meta.get("search"):
        return None, f"模型 {bundle.version} 没有类案检索索引（可用 `jiaoban index` 建立）"
    candidates = encoder_candidates(bundle.meta, encoder)
    if not candidates:
        return None, "未配置句向量编码器"
    precision = precision_of((bundle.meta.get("search") or {}).get("encoder") or "")
    problems = []
    for spec in candidates:
        if spec != encoder:
            logger.info("model %s: trying the encoder its index was built with, %s", bundle.version, spec)
        try:
            if precision != "float32":
                embedder = cached_embedder(spec, threads, batching, precision)
            else:
                embedder = cached_embedder(spec, threads, batching) if batching else cached_embedder(spec, threads)
            index = load_search_index(bundle, embedder)
        except SearchIndexFormatError as exc:  # no encoder helps: the index must be rebuilt
            logger.warning("precedent search not loaded for model %s: index of another format", bundle.version)
            return None, f"模型 {bundle.version} 的类案检索索引需要重建：{exc}"
        except SearchIndexError as exc:  # another encoder than the index's: try the next candidate
            problems.append(str(exc))
            continue
        except Exception as exc:  # the service routes without precedents rather than not at all
            problems.append(str(exc))
            break
        if index is None:
            return None, f"模型 {bundle.version} 没有类案检索索引"
        logger.info("precedent index loaded: %d cases (encoder %s)", len(index), spec)
        return index, None
    recorded = (bundle.meta.get("search") or {}).get("encoder_path")
    why = (f"模型 {bundle.version} 的检索索引所用编码器不可用（{'；'.join(problems)}）：请把编码器目录"
           f"{'“' + Path(recorded).name + '”' if recorded else ''}复制到本机，并用 JIAOBAN_ENCODER 指向它")
    logger.warning("precedent search not loaded for model %s", bundle.version)
    return None, why


class RoutingService:
    """A loaded model version with its registry and precedent index; typed answers for every face."""

    def __init__(self, bundle: Bundle, *, registry: DepartmentRegistry | None = None, index=None,
                 search_error: str | None = None, options: ServiceOptions | None = None):
        self.bundle = bundle
        self.registry = registry if registry is not None else bundle.registry
        self.index = index
        self.search_error = search_error if index is None else None
        self.options = options or ServiceOptions()

    @classmethod
    def load(cls, path: str | Path, *, encoder: str | None = None, registry: DepartmentRegistry | None = None,
             options: ServiceOptions | None = None, encoder_threads: int | None = None,
             with_search: bool = True) -> RoutingService:
        """Load a version directory (verified) and its precedent index.

        Raises:
            BundleError: the version is missing, damaged or built by incompatible libraries.
        """
        bundle = load_bundle(path)
        index, why = load_index(bundle, encoder, encoder_threads) if with_search else (None, "未启用类案检索")
        return cls(bundle, registry=registry, index=index, search_error=why, options=options)

    def with_registry(self, registry: DepartmentRegistry) -> RoutingService:
        """The same model and index presented with another registry (after a reorganisation)."""
        return RoutingService(self.bundle, registry=registry, index=self.index, search_error=self.search_error,
                              options=self.options)

    @property
    def version(self) -> str:
        return self.bundle.version

    @property
    def has_search(self) -> bool:
        return self.index is not None

    # -- units --------------------------------------------------------------------------------------------------
    def unit(self, label: str) -> Unit:
        """Today's unit for a model label (a unit merged away since training answers as its successor)."""
        for registry in (self.registry, self.bundle.registry):
            if registry is not None and label in registry:
                d = registry.current(label) if registry is self.registry else registry.get(label)
                return Unit(d.id, d.name, d.short_name)
        return Unit(label, self.bundle.label_name(label))

    def resolve_unit(self, name: str) -> Unit:
        """Today's unit for a name, short name, alias or id.

        Raises:
            UnknownDepartmentError: with the closest known names.
        """
        if self.registry is None:
            return Unit(name, name)
        d = self.registry.resolve(name)
        return Unit(d.id, d.name, d.short_name)

    # -- routing ------------------------------------------------------------------------------------------------
    def route_one(self, title: str, body: str, *, precedents: bool = True) -> RoutedItem:
        return self.route([(title, body)], precedents=precedents).items[0]

    def route(self, items: Sequence[Item], *, rows: Sequence[int] | None = None,
              precedents: bool = True) -> RoutedBatch:
        """Route a batch. ``rows`` (sheet row numbers) label the items and their 并案 groups."""
        items = list(items)
        if rows is not None and len(rows) != len(items):
            raise ValueError(f"rows has {len(rows)} entries for {len(items)} items")
        if not items:
            return RoutedBatch([], [], self.has_search)
        model = self.bundle.model
        docs = model.prepare(items)
        vectors = self._encode(docs) if self.index is not None and (precedents or self.blends) else None
        blend = vectors if self.blends else None
        routings = model.route(docs=docs, top_k=self.options.top_k, vectors=blend)
        out = [self._present(n, r, None if rows is None else rows[n]) for n, r in enumerate(routings)]
        if blend is not None:
            self._vote_reasons(out, blend)
        self._screen(items, out)
        groups: list[DuplicateGroup] = []
        if vectors is not None and precedents:
            groups = self._attach_search(out, docs, rows, vectors)
        return RoutedBatch(out, groups, self.index is not None and precedents, vectors if precedents else None)

    @property
    def blends(self) -> bool:
        """Whether routing blends the kNN vote of the closest training cases: the model has one and the index's item
        vectors are of the kind it was fitted on (else the text model and its own threshold serve)."""
        knn = getattr(self.bundle.model, "knn_", None)
        return knn is not None and self.index is not None and knn.matches(index_vector_spec(self.index))

    def _encode(self, docs) -> np.ndarray | None:
        """One vector per item (precedents, repeats, 并案 and the kNN vote); None when the encoder fails."""
        try:
            return self.index.embed_docs(docs)
        except Exception as exc:
            logger.warning("encoding for precedent search failed (%s); routing without precedents", type(exc).__name__)
            return None

    def _vote_reasons(self, out: list[RoutedItem], vectors: np.ndarray) -> None:
        """Each suggestion's share of the closest training cases' vote, in its reason."""
        model = self.bundle.model
        knn = model.knn_
        assert knn is not None  # only called when the service blends
        votes = knn.votes(vectors, len(model.classes_))
        share: dict[str, float] = {}
        for item, row in zip(out, votes):
            share.clear()
            for label, v in zip(model.classes_, row):
                unit = self.unit(str(label)).id
                share[unit] = share.get(unit, 0.0) + float(v)
            for suggestion in item.lead[:3]:
                v = share.get(suggestion.unit.id, 0.0)
                if v >= 0.05:
                    note = f"与之最相似的 {knn.k} 件往年案件中约 {v:.0%}（按相似度加权）由该单位主办"
                    suggestion.reason = f"{suggestion.reason}；{note}" if suggestion.reason else note

    def _present(self, index: int, routing: Routing, row: int | None) -> RoutedItem:
        leads: dict[str, LeadSuggestion] = {}
        for s in routing.lead:  # two units merged since training: one suggestion, their probabilities summed
            unit = self.unit(s.label)
            if unit.id in leads:
                leads[unit.id].probability += s.probability
            else:
                leads[unit.id] = LeadSuggestion(unit, s.probability, list(s.terms))
        lead = sorted(leads.values(), key=lambda s: -s.probability)
        for suggestion in lead:
            suggestion.reason = reason_text(suggestion.terms, suggestion.unit.name) if suggestion.terms else ""
        co: dict[str, CoHandler] = {}
        for s in routing.co_handlers:
            unit = self.unit(s.label)
            if unit.id != lead[0].unit.id:
                co[unit.id] = CoHandler(unit, s.probability + (co[unit.id].probability if unit.id in co else 0.0))
        threshold = self.options.review_threshold or routing.threshold
        top = lead[0].probability
        if not (self.options.review_threshold or routing.certified):
            review = ReviewDecision(True, threshold, UNCERTIFIED_REASON)
        else:
            review = ReviewDecision(top < threshold, threshold,
                                    review_reason(top, threshold) if top < threshold else "")
        return RoutedItem(index=index, lead=lead, co_handlers=sorted(co.values(), key=lambda c: -c.probability),
                          review=review, model_version=self.version, row=row)

    def screen(self, items: Sequence[Item]) -> list[list[dict]]:
        """The admissibility flags of each item (一件多事 by routing its parts, not-filing grounds), as dicts."""
        model = self.bundle.model
        classes = getattr(model, "classes_", None)  # a stand-in model without classes: the grounds only
        labels = [] if classes is None else [str(c) for c in classes]
        flags = screen_batch(items, grounds=self.options.grounds, labels=labels,
                             proba=None if classes is None else (lambda texts: model.predict_proba(
                                 [("", t) for t in texts])), name_of=lambda label: self.unit(label).name)
        return [[f.to_dict() for f in item_flags] for item_flags in flags]

    def _screen(self, items: Sequence[Item], out: list[RoutedItem]) -> None:
        """Flagged items go to the review queue with the flags' reasons (never rejected: staff decide)."""
        for item, flags in zip(out, self.screen(items)):
            if not flags:
                continue
            item.admissibility = flags
            reasons = "；".join(f["reason"] for f in flags)
            old = item.review
            item.review = ReviewDecision(True, old.threshold, f"{old.reason}；{reasons}" if old.reason else reasons)

    def _attach_search(self, out: list[RoutedItem], docs, rows, vectors: np.ndarray) -> list[DuplicateGroup]:
        """Precedents, repeats and 并案 from one vector per item; search trouble never breaks routing."""
        index = self.index
        try:
            for item, repeat in zip(out, index.repeats(vectors=vectors)):
                if repeat is not None:
                    item.repeat_of = Repeat(**{**repeat, "case_id": str(repeat["case_id"])})
        except Exception as exc:
            logger.warning("repeat detection failed (%s)", type(exc).__name__)
        try:  # one dense search for the whole batch
            found_hits = index.search_many([doc.tokens for doc in docs], vectors, k=self.options.precedents_k)
        except Exception as exc:
            logger.warning("precedent search failed (%s); routing without precedents", type(exc).__name__)
            found_hits = []
        for item, hits in zip(out, found_hits):
            item.precedents = [Precedent.from_hit(h) for h in hits]
            item.precedents_available = True
        try:
            found = index.duplicate_groups(vectors=vectors)
        except Exception as exc:
            logger.warning("duplicate detection failed (%s)", type(exc).__name__)
            return []
        return [DuplicateGroup(list(g), None if rows is None else [rows[i] for i in g]) for g in found]

    # -- search -------------------------------------------------------------------------------------------------
    def search(self, query: str, *, k: int = 10, year: int | None = None, department: str | None = None,
               kind: str | None = None, category: str | None = None, mode: str = "hybrid",
               target: str = "items", full_reply: bool = False) -> list[Precedent]:
        """Past cases like ``query``; ``department`` is any name of a unit and matches what it led or co-handled.

        Raises:
            SearchUnavailable: this version has no precedent index.
            UnknownDepartmentError: ``department`` names no known unit.
        """
        index = self._require_index()
        dept = self.resolve_unit(department).id if department else None
        hits = index.search(query, k=k, year=year, department=dept, kind=kind, category=category, mode=mode,
                            target=target, full_reply=full_reply)
        return [Precedent.from_hit(h) for h in hits]

    def duplicates(self, items: Sequence[Item], *, rows: Sequence[int] | None = None) -> list[DuplicateGroup]:
        """并案 groups within ``items``."""
        index = self._require_index()
        vectors = index.embed_docs(self.bundle.model.prepare(list(items))) if items else np.zeros((0, 1))
        return [DuplicateGroup(list(g), None if rows is None else [rows[i] for i in g])
                for g in index.duplicate_groups(vectors=vectors)]

    def encoder_order(self, items: Sequence[Item]) -> list[int]:
        """The positions of ``items`` by the length of what the encoder reads of each (stable): a sheet routed in
        parts in this order batches texts of like length, with little padding for the encoder to compute. Each
        item's result does not depend on the part it is routed in."""
        if self.index is None:
            return list(range(len(items)))
        lengths = [len(case_text(title, body, self.index.config)) for title, body in items]
        return sorted(range(len(items)), key=lengths.__getitem__)

    def group_vectors(self, vectors: np.ndarray) -> list[tuple[list[int], float]]:
        """并案 groups over vectors ``route`` returned (e.g. a sheet routed in parts), each with its lowest pairwise
        similarity."""
        index = self._require_index()
        out = []
        for group in index.duplicate_groups(vectors=vectors):
            v = vectors[list(group)]
            v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
            sims = v @ v.T
            out.append((list(group), round(float(sims[np.triu_indices(len(group), 1)].min()), 4)))
        return out

    def earlier_case(self, case_id: str | int) -> dict | None:
        """A closed case of the precedent index (with its full reply), e.g. the one an item repeats."""
        if self.index is None:
            return None
        try:
            return self.index.get(int(case_id))
        except (TypeError, ValueError):
            return None

    def _require_index(self):
        if self.index is None:
            raise SearchUnavailable(self.search_error or "类案检索尚未启用")
        return self.index


class SearchUnavailable(RuntimeError):
    """The model version in service has no usable precedent index."""


__all__ = ["RoutingService", "ServiceOptions", "SearchUnavailable", "UnknownDepartmentError", "reason_text"]
