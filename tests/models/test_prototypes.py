import json

import numpy as np

from models.classifier import RoutingModel, RoutingParams
from models.prototypes import choose_weight
from tests.models.test_classifier import toy_data

DUTIES = (("zjj", "住建局 负责老旧小区加装电梯、物业管理、保障性住房、城中村改造和建筑工地施工管理"),
          ("jyj", "教育局 负责中小学课后服务、校外培训机构监管、学前教育学位和教师编制、职业教育"),
          ("jtj", "交通运输局 负责公交线路、农村公路养护、出租车服务、公交站台和客运站"),
          ("wjw", "卫健委 负责社区卫生服务中心、家庭医生签约、基层医疗人才和医院服务、疫苗接种"))


def test_choose_weight_takes_the_smallest_weight_with_the_best_out_of_fold_top1():
    oof = np.array([[1.0, 0.9], [1.0, 0.9], [0.0, 1.0]])
    y = np.array([1, 1, 1])
    sim = np.array([[0.0, 0.1], [0.0, 0.5], [0.0, 0.0]])
    assert choose_weight(oof, y, sim, weights=(0.0, 0.5, 2.0, 4.0)) == 2.0  # 0.5 fixes one, 2.0 both
    assert choose_weight(oof, y, np.zeros_like(sim)) == 0.0  # prototypes that say nothing stay off


def test_duty_prototypes_are_off_by_default_and_fit_save_the_weight_they_chose():
    items, leads, co = toy_data(n_per_topic=6)
    plain = RoutingModel(RoutingParams(unit_duties=DUTIES)).fit(items, leads, co)
    assert plain.prototypes_ is None and plain.validation_["duties_weight"] == 0.0
    model = RoutingModel(RoutingParams(unit_duties=DUTIES, duty_prototypes=True)).fit(items, leads, co)
    assert model.prototypes_ is not None and model.prototypes_.rows.shape[0] == len(model.classes_)
    assert model.validation_["duties_weight"] == model.duties_weight_
    proba = model.predict_proba([("关于校外培训机构监管的建议", "建议加强校外培训机构监管。")])
    assert np.isclose(proba.sum(), 1.0) and model.classes_[proba.argmax()] == "jyj"


def test_units_with_enough_cases_get_no_prototype():
    items, leads, co = toy_data(n_per_topic=6)
    model = RoutingModel(RoutingParams(unit_duties=DUTIES, duty_prototypes=True, duties_max_cases=3)).fit(
        items, leads, co)
    assert model.prototypes_ is None and model.duties_weight_ == 0.0


def test_params_with_duties_round_trip_through_the_manifest_dict():
    params = RoutingParams(unit_duties=DUTIES, duty_prototypes=True)
    again = RoutingParams.from_dict(json.loads(json.dumps(params.to_dict())))
    assert again == params
