"""One settings object for the service and the CLI, read from the environment (prefix ``JIAOBAN_``) or a ``.env``
file in the working directory; see ``.env.example``. The CLI's options override it per command."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from models.messages import describe
from models.rules import normalize_category
from models.service import ServiceOptions
from models.workdays import WorkCalendar, parse_days

ROLES = ("admin", "assigner", "drafter", "supervisor")
MIN_KEY_LENGTH = 12


def parse_api_keys(value: str) -> list[tuple[str, str]]:
    """``"role:key,role:key"`` -> [(role, key), ...].

    Raises:
        ValueError: a pair without a colon, an unknown role, or a key shorter than MIN_KEY_LENGTH (the message
            names the item, never the key).
    """
    pairs = []
    for i, item in enumerate(p.strip() for p in value.split(",")):
        if not item:
            continue
        role, sep, key = item.partition(":")
        role, key = role.strip(), key.strip()
        if not sep or role not in ROLES:
            raise ValueError(f"第 {i + 1} 项应为“角色:密钥”的形式，角色为 {'、'.join(ROLES)} 之一")
        if len(key) < MIN_KEY_LENGTH:
            raise ValueError(f"第 {i + 1} 项（{role}）的密钥不足 {MIN_KEY_LENGTH} 个字符，请换一个更长的随机密钥")
        pairs.append((role, key))
    return pairs


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JIAOBAN_", env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore")

    env: Literal["development", "production"] = "development"
    data_dir: Path = Field(Path("var"), description="exports and other files the service writes")
    database: Path = Field(Path("var/jiaoban.db"), description="SQLite case store")
    database_url: str = Field(
        "", description="PostgreSQL case store instead of the SQLite file, for several replicas and workers: "
                        "postgresql://user:password@host:5432/jiaoban (docs/scaling.md)")
    jobs_in_process: bool = Field(
        True, description="run background jobs (sheet routing, training) in a thread of the service; false for "
                          "replicas that leave them to `python -m api.worker` processes (docs/scaling.md)")
    model_poll_s: float = Field(
        5.0, ge=0, le=3600, description="how often the service checks the store for a model promoted elsewhere "
                                        "(another replica, the CLI); 0: never")
    models_dir: Path = Field(Path("var/models"), description="model bundle versions (jiaoban train --promote)")
    departments: Path = Field(
        Path("data/samples/departments.json"),
        description="seed department registry, read once into the store; later changes live in the store",
    )
    encoder: str = Field("var/encoders/multilingual-e5-small",
                         description="sentence encoder for the precedent index inside the bundle (as `jiaoban`)")
    encoder_threads: int | None = Field(
        None, ge=1, le=256,
        description="torch threads for encoding queries (default: every core); 1 keeps one request from taking "
                    "every core, which is faster when several requests or other work share the machine")
    encoder_precision: Literal["auto", "float32", "bfloat16", "int8"] = Field(
        "auto",
        description="precision of the encoder when an index is built (jiaoban train / index). auto: bfloat16 where "
                    "the CPU computes it natively (AMX, AVX512-BF16; about 3x faster there, cosine 0.99997 to "
                    "float32, no measurable retrieval or 并案 loss, docs/benchmarks-encoder.md), else float32; "
                    "int8 loses retrieval quality. The service always encodes queries at the precision the "
                    "model's index was built with")
    encoder_backend: Literal["auto", "torch", "openvino"] = Field(
        "auto", description="what runs the encoder's transformer: auto (OpenVINO where it is installed, for float32 "
                            "and bfloat16: about 1.3 times as fast as torch on the 2-core CPUs measured, the same "
                            "vectors to a cosine of 0.99999, docs/benchmarks.md), torch, or openvino (an error where "
                            "it cannot run); read by every encoder the service, `jiaoban` and the benchmarks load")
    encoder_batching: bool = Field(
        True, description="queue concurrent encoder calls into one worker thread that encodes them in batches "
                          "(the service under load); false: every request calls the encoder itself")
    api_keys: str = Field("", description="role:key pairs, comma-separated; hashed into the store at start-up")
    reply_categories: Annotated[list[str], NoDecode] = ["A", "B", "C"]
    due_months: int = Field(3, ge=1, le=24, description="reply due this many months after assignment")
    reassign_days: int = Field(5, ge=0, le=60, description="working days after assignment in which a unit may ask "
                                                          "for reassignment (退办/改办)")
    holidays: str = Field("", description="public holidays, not working days: 2026-10-01..2026-10-07, 2027-01-01")
    make_up_workdays: str = Field("", description="weekend days worked instead (调休上班), e.g. 2026-10-10")
    review_threshold: float | None = Field(None, gt=0, le=1, description="override the model's review threshold")
    top_k: int = Field(5, ge=1, le=20)
    max_upload_mb: int = Field(20, ge=1)
    reply_category_scheme: Path | None = Field(
        None, description="JSON file: each reply category's meaning and wording cues ({A: {meaning, cues}, ...})")
    admissibility_grounds: Path | None = Field(
        None, description="JSON file: the not-filing grounds [{code, name, patterns}] of the admissibility pre-screen")
    timezone: str = Field("Asia/Shanghai", description="the office's time zone (IANA name): what \"today\" is for "
                          "deadlines, overdue counts and 交办日期, and the times the page and exports show; the "
                          "store keeps UTC timestamps whatever it is")
    log_level: str = "INFO"

    @field_validator("reply_categories", mode="before")
    @classmethod
    def _split_categories(cls, value):
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):  # the rule every reply is checked with: " b类" is B
            value = list(dict.fromkeys(c for c in (normalize_category(str(v)) for v in value) if c))
        if not value:
            raise ValueError("至少需要一个答复类别，如 A,B,C")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        from models.clock import load_zone

        return load_zone(value).key

    @field_validator("holidays", "make_up_workdays")
    @classmethod
    def _check_days(cls, value: str) -> str:
        parse_days(value)
        return value

    def calendar(self) -> WorkCalendar:
        return WorkCalendar(parse_days(self.holidays), parse_days(self.make_up_workdays))

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("应为 postgresql://用户:密码@主机:端口/库名 的形式；留空则使用 JIAOBAN_DATABASE 的 "
                             "SQLite 文件")
        return value

    @property
    def store_target(self) -> str | Path:
        """Where the case store is: the PostgreSQL URL when one is set, else the SQLite file."""
        return self.database_url or self.database

    @field_validator("admissibility_grounds")
    @classmethod
    def _check_grounds(cls, value: Path | None) -> Path | None:
        from models.admissibility import load_grounds

        if value is not None:
            try:
                load_grounds(value)
            except OSError as exc:
                raise ValueError(f"无法读取不予立案情形文件 {value}（{exc.strerror}）") from None
        return value

    def category_scheme(self):
        """The reply categories' meanings and cues (``reply_category_scheme``, else the defaults for the codes)."""
        from models.category_check import CategoryScheme

        if self.reply_category_scheme is None:
            return CategoryScheme.for_codes(self.reply_categories)
        return CategoryScheme.from_file(self.reply_category_scheme, self.reply_categories)

    @model_validator(mode="after")
    def _check_scheme(self) -> Settings:
        if self.reply_category_scheme is not None:
            try:
                self.category_scheme()
            except OSError as exc:
                raise ValueError(f"无法读取答复类别说明文件 {self.reply_category_scheme}（{exc.strerror}）") from None
        return self

    @field_validator("api_keys")
    @classmethod
    def _check_keys(cls, value: str) -> str:
        parse_api_keys(value)
        return value

    @model_validator(mode="after")
    def _production_needs_keys(self) -> Settings:
        if self.env == "production" and not self.parsed_api_keys:
            raise ValueError(
                "JIAOBAN_ENV=production 时必须设置 JIAOBAN_API_KEYS，如 JIAOBAN_API_KEYS='admin:<至少 "
                f"{MIN_KEY_LENGTH} 个字符的随机密钥>,assigner:<…>'（见 .env.example）；未设置密钥时服务不会启动"
            )
        return self

    @property
    def parsed_api_keys(self) -> list[tuple[str, str]]:
        return parse_api_keys(self.api_keys)

    @property
    def exports_dir(self) -> Path:
        return self.data_dir / "exports"

    def service_options(self) -> ServiceOptions:
        from models.admissibility import load_grounds

        return ServiceOptions(review_threshold=self.review_threshold, top_k=self.top_k,
                              grounds=load_grounds(self.admissibility_grounds))


@lru_cache
def get_settings() -> Settings:
    return Settings()


def settings_error_message(exc: ValidationError) -> str:
    """A settings ValidationError as one Chinese line that names each JIAOBAN_* variable at fault, for the entry
    points to print instead of a traceback. A value is quoted back, except an API key's."""
    problems = []
    for err in exc.errors():
        loc = err.get("loc") or ()
        if not loc:  # a check across settings (production without keys): its message names the variables
            problems.append(describe(err))
            continue
        name = f"JIAOBAN_{str(loc[0]).upper()}"
        given = err.get("input")
        shown = f"（当前为“{given}”）" if isinstance(given, str) and loc[0] != "api_keys" else ""
        problems.append(f"{name}{shown}：{describe(err)}")
    return "配置错误：" + "；".join(problems) + "。请修改环境变量或 .env 文件后重新启动"
