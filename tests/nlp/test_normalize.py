import pytest

from nlp.normalize import join_title_body, near_duplicate_key, normalize, title_subject


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＢＣ１２３", "ABC123"),
        ("  老旧小区\u3000\n改造  ", "老旧小区 改造"),
        ("关于…的建议，请答复！", "关于...的建议，请答复！"),
        ("\ufeff标题", "标题"),
        (None, ""),
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("title", "subject"),
    [
        ("关于加快推进老旧小区加装电梯工作的建议", "加快推进老旧小区加装电梯工作"),
        ("关于加强中小学生课后服务的提案（重新办理）", "加强中小学生课后服务"),
        ("建议进一步规范农贸市场管理", "进一步规范农贸市场管理"),
        ("滨江路夜间噪声扰民问题亟待解决", "滨江路夜间噪声扰民问题亟待解决"),
        ("关于建议", "关于建议"),  # nothing left after stripping: keep the title
    ],
)
def test_title_subject(title, subject):
    assert title_subject(title) == subject


def test_join_title_body_and_duplicate_key():
    assert join_title_body("关于治理白沙河的建议", "白沙河水质变差。") == "治理白沙河。白沙河水质变差。"
    assert join_title_body("", "只有正文") == "只有正文"
    assert near_duplicate_key("关于治理白沙河的提案", "x") == near_duplicate_key("关于治理白沙河的建议", "y")
