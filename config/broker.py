"""The default broker: kombu's filesystem transport, with messages that appear whole.

Kombu's own `_put` creates the message file under its final name and then writes it, so a
consumer polling the folder can pick the file up while it is still empty; the worker's consumer
then dies on the empty JSON and the message is lost. Here a message is written under a name no
consumer looks at and renamed into place (atomic within one folder), so a consumer only ever
sees complete messages.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.transport import filesystem
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + ".partial"  # consumers only take names ending in "<queue>.msg"
        try:
            with open(partial, "wb") as handle:
                handle.write(dumps(payload).encode())
            os.replace(partial, final)
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
