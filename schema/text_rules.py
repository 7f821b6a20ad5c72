"""Strings in a document are text the hub can store: no NUL characters.

PostgreSQL cannot hold U+0000 in a text column, so a literal such as ``"a\\u0000b"`` would pass
every GraphQL check and fail at the database as an INTERNAL. Refused in validation, before
anything runs; variables get the same check in the executor (``schema.input_checks``).
"""

from __future__ import annotations

from typing import Any

from graphql import ASTValidationRule, GraphQLError, StringValueNode

from store.errors import ErrorCode

NUL_REFUSED = "strings may not contain NUL (U+0000) characters"


class NoNulInStrings(ASTValidationRule):
    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        if "\x00" in node.value:
            self.report_error(
                GraphQLError(NUL_REFUSED, node, extensions={"code": ErrorCode.BAD_USER_INPUT.value})
            )
