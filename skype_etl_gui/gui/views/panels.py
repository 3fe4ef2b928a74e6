"""The main window's panels: the export, the database, the progress. Widgets only; no file or database call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCharts import QChart, QChartView, QLineSeries, QValueAxis
from PySide6.QtCore import QPointF, QSettings, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...etl.errors import DatabaseUrlError
from ...etl.urls import dsn_fields, dsn_text, parse_database_url
from ...paths import default_database_path
from .. import passwords
from ..widgets import plain_label, push_button

SSL_MODES = ["prefer", "disable", "allow", "require", "verify-ca", "verify-full"]
MEMORY_POINTS = 240  # a minute at four samples a second
# the keywords the form has a field for; every other libpq keyword goes to "Other parameters"
FORM_KEYS = ("host", "port", "dbname", "user", "password", "sslmode")


class ExportPanel(QGroupBox):
    """The export to import, by path, Browse… or a drop on the window; and what it holds."""

    path_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("&Export", parent)
        grid = QGridLayout(self)
        self.edit = QLineEdit()
        self.edit.setObjectName("exportEdit")
        self.edit.setPlaceholderText("The .tar from Skype's export page, or its messages.json (or drop it here)")
        self.edit.textChanged.connect(self.path_changed)
        browse = push_button("&Browse…", "browseButton", self.choose)
        self.preview_label = plain_label("previewLabel")
        grid.addWidget(self.edit, 0, 0)
        grid.addWidget(browse, 0, 1)
        grid.addWidget(self.preview_label, 1, 0, 1, 2)

    def path(self) -> str:
        return self.edit.text().strip()

    def choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Choose the Skype export",
            self.edit.text(),
            "Skype export (*.tar *.tar.gz *.tgz *.json);;All files (*)",
        )
        if path:
            self.edit.setText(path)


class DatabasePanel(QGroupBox):
    """The local database (a file) or a PostgreSQL server, with a connection test."""

    test_requested = Signal()
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("&Database", parent)
        outer = QVBoxLayout(self)
        self.local_radio = QRadioButton("&Local database")
        self.local_radio.setObjectName("localRadio")
        self.postgres_radio = QRadioButton("Post&greSQL server")
        self.postgres_radio.setObjectName("postgresRadio")
        group = QButtonGroup(self)
        group.addButton(self.local_radio)
        group.addButton(self.postgres_radio)
        self.local_radio.setChecked(True)
        local_row = QHBoxLayout()
        self.local_path = QLineEdit(str(default_database_path()))
        self.local_path.setObjectName("localPathEdit")
        change = QPushButton("C&hange…")
        change.clicked.connect(self.choose_local_file)
        local_row.addWidget(self.local_radio)
        local_row.addWidget(self.local_path, 1)
        local_row.addWidget(change)
        outer.addLayout(local_row)
        outer.addWidget(self.postgres_radio)
        form = QFormLayout()
        self.pg_host = QLineEdit("localhost")
        self.pg_port = QSpinBox()
        self.pg_port.setRange(1, 65535)
        self.pg_port.setValue(5432)
        self.pg_database = QLineEdit("skype")
        self.pg_user = QLineEdit()
        self.pg_password = QLineEdit()
        self.pg_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.pg_password.setPlaceholderText("empty: PGPASSWORD or ~/.pgpass; never saved")
        self.pg_sslmode = QComboBox()
        self.pg_sslmode.addItems(SSL_MODES)
        self.pg_options = QLineEdit()
        self.pg_options.setObjectName("pgOptionsEdit")
        self.pg_options.setPlaceholderText("more libpq settings, e.g. connect_timeout=5 application_name=me")
        self.remember_password = QCheckBox("Remember the password in the system &keyring")
        self.remember_password.setObjectName("rememberPasswordCheck")
        self.remember_password.setEnabled(False)  # until the keyring has answered (it can be slow)
        for label, widget in (
            ("Host", self.pg_host),
            ("Port", self.pg_port),
            ("Database", self.pg_database),
            ("User", self.pg_user),
            ("Password", self.pg_password),
            ("SSL mode", self.pg_sslmode),
            ("Other parameters", self.pg_options),
        ):
            form.addRow(label, widget)
        form.addRow("", self.remember_password)
        test_row = QHBoxLayout()
        self.test_button = push_button("&Test connection", "testConnectionButton", self.test_requested.emit)
        self.test_result = plain_label("testResultLabel", wrap=False)
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_result, 1)
        form.addRow(test_row)
        self.pg_fields = QWidget()
        self.pg_fields.setLayout(form)
        outer.addWidget(self.pg_fields)
        self.local_radio.toggled.connect(self.changed)

    def choose_local_file(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Local database file",
            self.local_path.text(),
            "SQLite database (*.db *.sqlite);;All files (*)",
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if path:
            self.local_path.setText(path)
            self.local_radio.setChecked(True)

    def set_keyring(self, available: bool) -> None:
        self.remember_password.setEnabled(available)
        self.remember_password.setToolTip(
            "" if available else "No system keyring here: the password is asked each time"
        )

    # --- the choice as a URL, and back --------------------------------------------------------------------
    def set_database_url(self, url: str) -> None:
        """Fill the fields from a URL or a libpq key=value string, keeping every parameter.

        Raises DatabaseUrlError when the URL cannot be used.
        """
        target = parse_database_url(url)
        if target.kind == "sqlite":
            self.local_path.setText(str(target.path))
            self.local_radio.setChecked(True)
            return
        fields = dsn_fields(url)
        self.postgres_radio.setChecked(True)
        self.pg_host.setText(fields.pop("host", "localhost"))
        port = fields.pop("port", "5432")
        if port.isdigit() and 0 < int(port) < 65536:
            self.pg_port.setValue(int(port))
        else:
            fields["port"] = port  # several ports: kept as libpq takes them
        self.pg_database.setText(fields.pop("dbname", ""))
        self.pg_user.setText(fields.pop("user", ""))
        self.pg_password.setText(fields.pop("password", ""))
        mode = fields.pop("sslmode", "prefer")
        if mode in SSL_MODES:
            self.pg_sslmode.setCurrentText(mode)
        else:
            fields["sslmode"] = mode
        self.pg_options.setText(dsn_text(fields))

    def database(self) -> str | dict[str, Any]:
        """The chosen database: a SQLite URL, or libpq keywords (the password stays out of any URL)."""
        if self.local_radio.isChecked():
            return f"sqlite:///{Path(self.local_path.text()).expanduser()}"
        config: dict[str, Any] = {
            "host": self.pg_host.text().strip(),
            "port": self.pg_port.value(),
            "dbname": self.pg_database.text().strip(),
            "user": self.pg_user.text().strip() or None,
            "password": self.pg_password.text() or None,
            "sslmode": self.pg_sslmode.currentText(),
        }
        options = self.pg_options.text().strip()
        if options:
            config.update(dsn_fields(options))  # DatabaseUrlError when it is not key=value text
        return config

    def password_account(self) -> str:
        return passwords.account(
            self.pg_host.text(), self.pg_port.value(), self.pg_database.text(), self.pg_user.text()
        )

    # --- settings (never the password) ------------------------------------------------------------------
    def settings_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "database/kind": "local" if self.local_radio.isChecked() else "postgresql",
            "database/localPath": self.local_path.text(),
            "postgresql/port": self.pg_port.value(),
            "postgresql/sslmode": self.pg_sslmode.currentText(),
            "postgresql/options": _without_password(self.pg_options.text()),
            "postgresql/rememberPassword": self.remember_password.isChecked(),
        }
        for key, widget in (("host", self.pg_host), ("database", self.pg_database), ("user", self.pg_user)):
            values[f"postgresql/{key}"] = widget.text()
        return values

    def restore(self, settings: QSettings) -> bool:
        """Fill the fields from the settings; True when the password was to be remembered."""
        self.local_path.setText(str(settings.value("database/localPath", self.local_path.text())))
        for key, widget in (("host", self.pg_host), ("database", self.pg_database), ("user", self.pg_user)):
            widget.setText(str(settings.value(f"postgresql/{key}", widget.text())))
        self.pg_port.setValue(int(str(settings.value("postgresql/port", 5432))))
        self.pg_sslmode.setCurrentText(str(settings.value("postgresql/sslmode", "prefer")))
        self.pg_options.setText(str(settings.value("postgresql/options", "")))
        if settings.value("database/kind", "local") == "postgresql":
            self.postgres_radio.setChecked(True)
        return bool(settings.value("postgresql/rememberPassword", False, bool))


def _without_password(options: str) -> str:
    try:
        fields = dsn_fields(options)
    except DatabaseUrlError:
        return ""
    fields.pop("password", None)
    return dsn_text(fields)


class ProgressPanel(QGroupBox):
    """Progress by bytes, the status line, memory against its limit (a chart), and what the run did."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Progress", parent)
        layout = QVBoxLayout(self)
        self.bar = QProgressBar()
        self.bar.setObjectName("progressBar")
        self.bar.setRange(0, 1000)
        self.bar.setFormat("%p%")
        self.status_label = plain_label("statusLabel", "Choose an export and press Start.")
        self.memory_label = QLabel("Memory: –")
        self.memory_label.setObjectName("memoryLabel")
        self.memory_series = QLineSeries()
        self.memory_series.setName("memory (MB)")
        self.limit_series = QLineSeries()
        self.limit_series.setName("limit")
        chart = QChart()
        chart.addSeries(self.memory_series)
        chart.addSeries(self.limit_series)
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignRight)
        self.memory_x = QValueAxis()
        self.memory_x.setRange(0, MEMORY_POINTS)
        self.memory_x.setVisible(False)
        self.memory_y = QValueAxis()
        self.memory_y.setTitleText("MB")
        self.memory_y.setLabelFormat("%d")
        self.memory_y.setTruncateLabels(False)  # "1,100", not "…", however narrow the axis area starts
        chart.addAxis(self.memory_x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self.memory_y, Qt.AlignmentFlag.AlignLeft)
        for series in (self.memory_series, self.limit_series):
            series.attachAxis(self.memory_x)
            series.attachAxis(self.memory_y)
        self.chart = QChartView(chart)
        self.chart.setObjectName("memoryChart")
        self.chart.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.chart.setMinimumHeight(140)
        self.summary_label = plain_label("summaryLabel")
        for widget in (self.bar, self.status_label, self.memory_label):
            layout.addWidget(widget)
        layout.addWidget(self.chart, 1)
        layout.addWidget(self.summary_label)
        self.samples = 0
        self.reset(1024.0)

    def reset(self, limit_mb: float) -> None:
        self.memory_series.clear()
        self.limit_series.clear()
        self.samples = 0
        self.memory_y.setRange(0, limit_mb * 1.1)
        self.memory_y.applyNiceNumbers()  # 0, 300, 600, 900, 1200: round ticks
        self.bar.setValue(0)

    def show_progress(self, progress: dict[str, Any]) -> None:
        self.bar.setValue(int(progress["percent"] * 10))

    def show_memory(self, sample: dict[str, Any]) -> None:
        rss, limit = sample["rss_mb"], sample["limit_mb"]
        self.memory_label.setText(f"Memory: {rss:,.0f} MB (peak {sample['peak_mb']:,.0f} MB, limit {limit:,.0f} MB)")
        x = self.samples
        self.samples += 1
        self.memory_series.append(x, rss)
        if self.memory_series.count() > MEMORY_POINTS:
            self.memory_series.remove(0)
        self.memory_series.setPointsVisible(self.memory_series.count() < 2)  # one sample is no line: its dot
        low, high = max(0, x - MEMORY_POINTS), max(20, x)
        self.memory_x.setRange(low, high)  # the last minute, filling the width
        self.limit_series.replace([QPointF(low, limit), QPointF(high, limit)])  # across the chart from the first
