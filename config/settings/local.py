"""Development (`make run`): embedded SQLite and filesystem broker unless the env says otherwise."""

from .base import *  # noqa: F403
from .base import dev_secret, env, generate_fernet_key, generate_secret_key

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="") or dev_secret("secret_key", generate_secret_key)
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="") or dev_secret(
    "field_encryption_key", generate_fernet_key
)

# Without real marketplace credentials, `make run` talks to the sandbox it starts beside the
# stack (see Procfile.dev); set the BRICKLINK_* / BRICKOWL_* variables to use the real services.
MARKETPLACE_SANDBOX_URL = env.str("MARKETPLACE_SANDBOX_URL", default="http://127.0.0.1:8765")
USING_BRICKLINK_SANDBOX = not BRICKLINK_CONSUMER_KEY  # noqa: F405
if USING_BRICKLINK_SANDBOX:
    BRICKLINK_API_URL = f"{MARKETPLACE_SANDBOX_URL}/bricklink/api/store/v1"
    BRICKLINK_CONSUMER_KEY = "sandbox-consumer-key"
    BRICKLINK_CONSUMER_SECRET = "sandbox-consumer-secret"  # noqa: S105 - the sandbox's own
    BRICKLINK_TOKEN_VALUE = "sandbox-token-value"  # noqa: S105 - the sandbox's own
    BRICKLINK_TOKEN_SECRET = "sandbox-token-secret"  # noqa: S105 - the sandbox's own
USING_BRICKOWL_SANDBOX = not BRICKOWL_API_KEY  # noqa: F405
if USING_BRICKOWL_SANDBOX:
    BRICKOWL_API_URL = f"{MARKETPLACE_SANDBOX_URL}/brickowl/v1"
    BRICKOWL_API_KEY = "sandbox-brickowl-key"
