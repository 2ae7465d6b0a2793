"""Just enough of CloudFormation to play a template's custom resources through the handler.

It resolves the intrinsic functions the examples use (Ref, Fn::Sub, Fn::ImportValue,
Fn::GetAtt, Fn::Join, Fn::Split) and delivers properties as CloudFormation does:
every scalar as a string, ServiceToken included.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

CUSTOM_TYPE = "Custom::CognitoResourceServer"


class ExampleTemplate:
    def __init__(self, path: Path, refs: dict[str, str], imports: dict[str, str]) -> None:
        template, problems = decode(str(path))
        assert template is not None, problems
        self.template: dict[str, Any] = template
        defaults = {k: str(v["Default"]) for k, v in template.get("Parameters", {}).items() if "Default" in v}
        self.refs = {**defaults, **refs}
        self.imports = imports
        self.outputs: dict[str, dict[str, str]] = {}  # Data of each custom resource, for Fn::GetAtt

    def custom_resources(self) -> list[str]:
        return [name for name, r in self.template["Resources"].items() if r["Type"] == CUSTOM_TYPE]

    def properties(self, logical_id: str) -> dict[str, Any]:
        """The ResourceProperties CloudFormation would send for a resource."""
        resolved: dict[str, Any] = self.resolve(self.template["Resources"][logical_id]["Properties"])
        return resolved

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Ref":
                return self.refs[argument]
            if function == "Fn::Sub":
                return re.sub(r"\$\{([\w:]+)\}", lambda m: self.refs[m.group(1)], argument)
            if function == "Fn::ImportValue":
                return self.imports[self.resolve(argument)]
            if function == "Fn::GetAtt":
                return self.outputs[argument[0]][argument[1]]
            if function == "Fn::Join":
                return argument[0].join(self.resolve(argument[1]))
            if function == "Fn::Split":
                return self.resolve(argument[1]).split(argument[0])
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, bool):
            return str(value).lower()
        return value if isinstance(value, str) else str(value)
