"""Entry point for Custom::CognitoResourceServer: wiring only. Lambda calls `handler`."""

# ruff: noqa: E402 - the collector is paused before the imports it would otherwise scan
from __future__ import annotations

import gc

# Init only allocates objects that live as long as the process; collecting during it cost
# about a tenth of the cold start (`make bench`, figure 1). Frozen afterwards, they are
# never scanned again, so warm requests' collections stay small too.
gc.disable()

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from resource_server import event, outputs, plan
from resource_server.adoption import Adoptions
from resource_server.answer import Answer, Responder
from resource_server.cognito import Cognito
from resource_server.deadline import Budget
from resource_server.failure import RequestFailed
from resource_server.replay import Replay
from resource_server.stack import Stack

logger = Logger()  # POWERTOOLS_SERVICE_NAME and LOG_LEVEL come from the environment
# The modules' standard loggers and crhelper's write the same JSON lines, with the same keys.
copy_config_to_registered_loggers(source_logger=logger, include={"resource_server", "crhelper"})
budget = Budget()
replay = Replay.from_environment(budget)  # IDEMPOTENCY_TABLE
# Adoption records share the answers' table.
services = plan.Services(Cognito.from_environment(budget), Stack(budget), Adoptions(replay.table_name, budget))
helper = Responder(logger, names_server=lambda: services.cognito.server_named)
gc.freeze()
gc.enable()


def work_out(raw_event: dict[str, Any]) -> Answer:
    try:
        outcome = plan.carry_out(plan.decide(event.read(raw_event)), services)
        answer = Answer(outcome.physical_id, outputs.data(outcome.server) if outcome.server else {})
    except RequestFailed as failure:
        answer = Answer.failed(failure)
    # If crhelper's timer answered first, a repeated delivery must get that answer, not this one.
    return helper.settle(answer)


@helper.create
@helper.update
@helper.delete
def on_request(raw_event: dict[str, Any], context: Any) -> str:
    answer = replay.answer(raw_event, context, lambda: work_out(raw_event))
    logger.append_keys(PhysicalResourceId=answer.physical_id)
    helper.Data = answer.data
    return answer.physical_id_or_raise()


# log_event=False: POWERTOOLS_LOGGER_LOG_EVENT would otherwise log the event whole, ResponseURL included.
@logger.inject_lambda_context(clear_state=True, log_event=False)
def handler(raw_event: dict[str, Any], context: Any) -> None:
    logger.append_keys(**event.correlation_keys(raw_event))
    budget.start(context.get_remaining_time_in_millis())
    services.cognito.start_request()
    logger.debug("Request received", extra={"event": event.redacted(raw_event)})
    helper(raw_event, context)
