"""Entry point for Custom::CognitoResourceServer: wiring only. Lambda calls `handler`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from resource_server import event, outputs, plan
from resource_server.answer import Responder
from resource_server.cognito import Cognito

logger = Logger()  # POWERTOOLS_SERVICE_NAME and LOG_LEVEL come from the environment
cognito = Cognito.from_environment()
helper = Responder(logger, server_in_doubt=lambda: cognito.server_in_doubt)


@helper.create
@helper.update
@helper.delete
def on_request(raw_event: dict[str, Any], _context: Any) -> str:
    outcome = plan.carry_out(plan.decide(event.read(raw_event)), cognito)
    logger.append_keys(PhysicalResourceId=outcome.physical_id)
    helper.Data = outputs.data(outcome.server) if outcome.server else {}
    return outcome.physical_id


@logger.inject_lambda_context(clear_state=True)
def handler(raw_event: dict[str, Any], context: Any) -> None:
    logger.append_keys(**event.correlation_keys(raw_event))
    cognito.set_time_left(context.get_remaining_time_in_millis())
    logger.debug("Request received", extra={"event": event.redacted(raw_event)})
    helper(raw_event, context)
