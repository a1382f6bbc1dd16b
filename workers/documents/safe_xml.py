"""XML of documents parsed with defusedxml: no DTD, no entities, no external references.

A DTD or an entity is how an XML bomb (billion laughs) or an external entity comes in, and
Office and LibreOffice never write one.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET

from bukti.errors import RejectedError


def parse_xml(data: bytes, label: str, reject: bool = True) -> Element | None:
    """Parse XML safely: no DTD, no entities, no external references."""
    try:
        root: Element = SafeET.fromstring(data, forbid_dtd=True)
    except defusedxml.DefusedXmlException:
        if reject:
            raise RejectedError(
                f"{label} declares XML entities or a DTD (an XML bomb): not accepted"
            ) from None
        return None
    except ParseError:
        if reject:
            raise RejectedError(f"{label} is not well-formed XML: the file is damaged") from None
        return None
    return root


def local_name(tag: str) -> str:
    """An XML name without its namespace."""
    return tag.rsplit("}", 1)[-1]
