"""The provider, wired: its parts, made once per execution environment, and one request's way
through them. app.py makes it, behind the guard that answers when it can't be made.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from . import aws, event, plan, startup
from .budget import MIN_TIMEOUT_S, Budget
from .cognito import Cognito
from .delivery import Answer, Progress, failed_physical_id
from .failure import DuplicateInFlight, RequestFailed
from .ledger import Ledger
from .legacy import Legacy
from .pacing import Rates, Turns
from .replay import Replay
from .responder import Responder
from .stack import StackReader
from .work import Services

logger = logging.getLogger(__name__)


class Provider:
    def __init__(self, log: Logger, budget: Budget, services: Services, replay: Replay, turns: Turns) -> None:
        self.log, self.budget, self.services, self.replay, self.turns = log, budget, services, replay, turns
        # The request being answered: crhelper calls on_request with the event and context only.
        self._request: event.Request | None = None
        self._progress = Progress()
        self.responder = Responder(log.log_level)
        # crhelper's stubs type the function as returning a physical id; ours returns the whole Answer.
        on_request = cast("Callable[[Any, Any], None]", self.on_request)
        for register in (self.responder.create, self.responder.update, self.responder.delete):
            register(on_request)
        self.responder.on_timeout = self._keep
        # log_event=False: POWERTOOLS_LOGGER_LOG_EVENT would otherwise log the event whole, ResponseURL included.
        self.handle = log.inject_lambda_context(clear_state=True, log_event=False)(self._handle)
        self.check_drift = log.inject_lambda_context(clear_state=True)(self._check_drift)

    @classmethod
    def from_environment(cls) -> Provider:
        configuration = startup.configuration()
        log = Logger(level=configuration.log_level)  # POWERTOOLS_SERVICE_NAME comes from the environment
        # The modules' standard loggers and crhelper's write the same JSON lines, with the same keys.
        copy_config_to_registered_loggers(source_logger=log, include={"resource_server", "crhelper"})
        if configuration.warning:
            log.warning(configuration.warning)
        return cls.assemble(log, configuration)

    @classmethod
    def assemble(cls, log: Logger, configuration: startup.Configuration, cognito_idp: Any = None) -> Provider:
        """The parts, made once per execution environment; around a Cognito client of the
        caller's own when one is given (the tests)."""
        budget = Budget()
        # Every request writes to both tables: their one client is made at init, as Lambda advises,
        # so that a cold request's first write doesn't wait behind it (`make bench`, 5b). The first
        # request imports Powertools' idempotency utility: at init it put init at 1.08x to 1.10x
        # its floor, against 1.06x to 1.08x (figure 1); there it costs 3 ms of CPU.
        shared = aws.tables(budget.tables_end)
        replay = Replay(configuration.answers_table, budget, shared)
        ledger = Ledger(configuration.ledger_table, budget, shared, write_attempt_s=aws.COGNITO.attempt_s)
        rates = Rates(configuration.pool_write_rate, configuration.account_write_rate)
        turns = Turns(
            ledger.line_ahead,
            lambda: ledger.lease,
            stale=ledger.mark_stale,
            wrote=ledger.took,
            epoch=budget.epoch,
            rates=rates,
        )
        cognito = Cognito.from_environment(budget.calls_end, turns, cognito_idp)
        # 1.0.0 kept its adoption records in the answers table.
        legacy = Legacy(configuration.answers_table, ledger, shared)
        stack = StackReader(budget.calls_end)
        services = Services(cognito, ledger, legacy, stack, configuration.allow_adoption)
        return cls(log, budget, services, replay, turns)

    def _handle(self, raw_event: dict[str, Any], context: Any) -> None:
        self.log.append_keys(**event.correlation_keys(raw_event))
        self.begin(raw_event, context)
        logger.debug("Request received", extra={"event": event.redacted(raw_event)})
        self.responder.respond(raw_event, context)

    def begin(self, raw_event: object, context: Any) -> None:
        """What one request keeps, made afresh here and nowhere else: the parts live as long as
        the execution environment, and a request must find nothing of the one before."""
        # crhelper calls on_request only for an event whose envelope has no problem: with a request.
        envelope, self._request = event.read(raw_event)
        self._progress = Progress()
        self.budget.start(context.get_remaining_time_in_millis(), envelope.not_after)
        self.services.ledger.start(envelope.request_id, str(context.aws_request_id))
        self.turns.start()
        self.replay.start(str(context.aws_request_id))
        self.responder.start(envelope, self._progress, self.budget.end)

    def on_request(self, _raw_event: object, _context: object) -> Answer | None:
        """crhelper's function for every request type: the answer, or None when another delivery answers."""
        request = self._request
        assert request is not None
        try:
            answer = self.replay.answer(request, lambda: self.work_out(request))
        except DuplicateInFlight:
            return None
        self.log.append_keys(PhysicalResourceId=answer.physical_id)
        return answer

    def _keep(self, answer: Answer) -> None:
        if self._request is not None:
            self.replay.keep(self._request, answer)

    def _check_drift(self, _event: object, context: Any) -> dict[str, Any]:
        """The scheduled drift check (drift/): its report, logged, published as metrics, returned."""
        from .drift import check, report  # noqa: PLC0415 - requests don't pay the import

        self.budget.start(context.get_remaining_time_in_millis())
        self.turns.start()
        found = check.check(self.services.ledger, self.services.cognito)
        report.log(found, self.log)
        report.publish(found)
        return report.as_dict(found)

    def work_out(self, request: event.Request) -> Answer:
        try:
            if self.budget.too_short:
                raise RequestFailed(
                    f"The provider's Lambda Timeout is too short to make any call: give it at least "
                    f"{MIN_TIMEOUT_S} s (template.yaml sets 900)"
                )
            with self.budget.deciding_answer():
                answer = plan.carry_out(plan.decide(request), request, self.services, self._progress)
        except RequestFailed as failure:
            physical_id = failed_physical_id(request.envelope, self._progress.names)
            answer = Answer.failed(physical_id, failure.reason, failure.details)
        # Known now: if saving it runs out of time, crhelper's timer sends this.
        self._progress.answer = answer
        return answer
