"""A broker that is away when a lead qualifies (a Redis restart) costs the
lead nothing: the answer commits, and the beat's reconcile task requests the
strategy once the work is found undone. Strategies whose generation was
never queued, or whose worker vanished, are queued again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from kombu.exceptions import OperationalError as BrokerUnavailable

from tests.integration.leads import qualified_lead

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker(monkeypatch):
    """What the strategy tasks were handed: a broker that refuses, or one that records."""
    from strategy import tasks

    state = {"up": False, "generate": [], "queue": []}

    def delay_for(name):
        def delay(*args, **kwargs):
            if not state["up"]:
                raise BrokerUnavailable("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
            state[name].append(args)
        return delay

    monkeypatch.setattr(tasks.strategy_queue, "delay", delay_for("queue"))
    monkeypatch.setattr(tasks.strategy_generate, "delay", delay_for("generate"))
    return state


def _age(model, ids, **fields):
    with scopes_disabled():
        model.objects.filter(id__in=ids).update(**fields)


def test_a_lead_qualified_while_the_broker_was_away_gets_its_strategy(make_agency, broker):
    from qualification.models import Lead
    from strategy.models import Strategy
    from strategy.services import strategy_reconcile

    agency = make_agency("Corte").agency
    lead = qualified_lead(agency)  # the qualifying answer commits although its enqueue failed
    with scope(agency=agency.id):
        assert not Strategy.objects.filter(lead=lead).exists()

    broker["up"] = True
    assert strategy_reconcile()["missing"] == 0  # just qualified: the normal path may still be on its way
    _age(Lead, [lead.id], updated=timezone.now() - timedelta(minutes=6))
    assert strategy_reconcile() == {"missing": 1, "waiting": 0, "stalled": 0}

    with scope(agency=agency.id):
        strategy = Strategy.objects.get(lead=lead)
    assert strategy.status == Strategy.Status.QUEUED and strategy.answers_version == lead.answers_version
    assert broker["generate"] == [(str(strategy.id), str(agency.id))]
    # Found again later, it is the same strategy: queued again, never a second one.
    assert strategy_reconcile()["missing"] == 0


def test_queued_and_stalled_strategies_are_queued_again_and_fresh_ones_left_alone(make_agency, broker):
    from strategy.models import Strategy
    from strategy.services import strategy_reconcile

    agency = make_agency("Atascos").agency
    leads = [qualified_lead(agency) for _ in range(3)]
    broker["up"] = True
    with scope(agency=agency.id):
        queued, generating, fresh = (Strategy.objects.create(agency=agency, lead=lead, answers_version=lead.answers_version)
                                     for lead in leads)
    now = timezone.now()
    _age(Strategy, [queued.id], updated=now - timedelta(minutes=6))
    _age(Strategy, [generating.id], status=Strategy.Status.GENERATING, generation_started_at=now - timedelta(hours=1))

    assert strategy_reconcile() == {"missing": 0, "waiting": 1, "stalled": 1}
    assert sorted(broker["generate"]) == sorted([(str(queued.id), str(agency.id)), (str(generating.id), str(agency.id))])
