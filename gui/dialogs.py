"""Confirmation and price dialogs. Both are window-modal and non-blocking (``open()``, never
``exec()``: a nested event loop would stall the engine's asyncio tasks running in Qt's loop);
the window acts on their ``finished`` signal."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.commands import NotPossible, Proposal, parse_price
from gui import theme
from gui.actions import help_rows

TICK = 0.05


class ConfirmDialog(QDialog):
    """States exactly what will be sent (the command with every field) and what it does.

    ``Cancel`` has the focus: Enter alone never sends. Accepted means: send ``proposal``."""

    def __init__(self, proposal: Proposal, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.proposal = proposal
        self.setWindowTitle(proposal.title)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        title = QLabel(proposal.title)
        color = theme.RED if proposal.danger else theme.TEXT
        title.setStyleSheet(f"font-size: 13pt; font-weight: bold; color: {color};")
        layout.addWidget(title)
        for line in proposal.lines:
            label = QLabel(line)
            label.setWordWrap(True)
            layout.addWidget(label)
        if proposal.warning:
            warning = QLabel(f"⚠ {proposal.warning}")
            warning.setObjectName("warning")
            warning.setWordWrap(True)
            warning.setStyleSheet(
                "background: #5c1013; color: #ffffff; font-weight: bold; padding: 6px;"
            )
            layout.addWidget(warning)
        self.wire = QLabel(f"Will send: {proposal.wire}")
        self.wire.setObjectName("wire")
        self.wire.setWordWrap(True)
        self.wire.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.wire.setStyleSheet(
            f"font-family: monospace; color: {theme.AMBER}; padding: 6px; "
            f"border: 1px solid {theme.GRID};"
        )
        layout.addWidget(self.wire)
        buttons = QDialogButtonBox()
        self.send_button = QPushButton("Quit" if proposal.command is None else "Send")
        self.send_button.setObjectName("sendDanger" if proposal.danger else "send")
        self.cancel_button = QPushButton("Cancel")
        buttons.addButton(self.send_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.send_button.setAutoDefault(False)
        self.cancel_button.setDefault(True)
        layout.addWidget(buttons)
        self.cancel_button.setFocus()

    def text(self) -> str:
        """Everything the dialog says (tests and the log read it)."""
        labels = self.findChildren(QLabel)
        return "\n".join(label.text() for label in labels)


class PriceDialog(QDialog):
    """Asks for a combo price on the 0.05 tick (arrows step a tick); accepted with a valid
    price, the window then asks to confirm the proposal built from it. With ``describe`` it
    shows, as the operator types, the command the price in the box would send."""

    def __init__(
        self,
        title: str,
        what: str,
        initial: Decimal,
        parent: QWidget | None = None,
        describe: Callable[[Decimal], Proposal] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        layout = QVBoxLayout(self)
        label = QLabel(what)
        label.setWordWrap(True)
        layout.addWidget(label)
        self.box = QDoubleSpinBox()
        self.box.setDecimals(2)
        self.box.setSingleStep(TICK)
        self.box.setRange(TICK, 999.95)
        self.box.setValue(float(initial))
        layout.addWidget(self.box)
        self.error = QLabel("")
        self.error.setStyleSheet(f"color: {theme.RED};")
        layout.addWidget(self.error)
        self.preview = QLabel("")
        self.preview.setObjectName("wire")
        self.preview.setWordWrap(True)
        self.preview.setStyleSheet(f"font-family: monospace; color: {theme.AMBER};")
        layout.addWidget(self.preview)
        self._describe = describe
        self.box.lineEdit().textChanged.connect(self._show_preview)
        self._show_preview()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.price: Decimal | None = None

    def set_text(self, text: str) -> None:
        """Type a price (as an operator would)."""
        self.box.lineEdit().setText(text)

    def _show_preview(self) -> None:
        if self._describe is None:
            return
        try:
            wire = self._describe(parse_price(self.box.cleanText())).wire
        except (ValueError, NotPossible) as exc:
            self.preview.setText(f"Nothing to send: {exc}")
        else:
            self.preview.setText(f"Would send: {wire}")

    def _check(self) -> None:
        try:
            self.price = parse_price(self.box.cleanText())
        except (ValueError, NotPossible) as exc:
            self.error.setText(str(exc))
            return
        self.accept()


def help_dialog(parent: QWidget) -> QDialog:
    """Every action, its keys and what it does."""
    dialog = QDialog(parent)
    dialog.setWindowTitle("condordesk — keys")
    layout = QVBoxLayout(dialog)
    rows = "".join(
        f"<tr><td style='padding-right:16px'><b>{keys}</b></td><td>{text}</td></tr>"
        for keys, text in help_rows()
    )
    label = QLabel(f"<table>{rows}</table>")
    layout.addWidget(label)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    return dialog
