"""The ECS error codes the emulator answers with, and the exception carrying one."""

from __future__ import annotations

# Code -> (HTTP status, message). Messages follow the public error tables where
# they give one; %s slots take a parameter name.
_ERRORS: dict[str, tuple[int, str]] = {
    "MissingParameter": (
        400,
        'The input parameter "%s" that is mandatory for processing this request '
        "is not supplied.",
    ),
    "InvalidParameter": (400, "The specified parameter %s is not valid."),
    "InvalidAction.NotFound": (
        404,
        "Specified api is not found, please check your url and method.",
    ),
    "InvalidVersion": (400, "Specified parameter Version is not valid."),
    "IncompleteSignature": (
        400,
        "The request signature does not conform to Aliyun standards.",
    ),
    "SignatureDoesNotMatch": (
        400,
        "Specified signature is not matched with our calculation.",
    ),
    "InvalidAccessKeyId.NotFound": (404, "Specified access key is not found."),
    "DryRunOperation": (
        400,
        "Request validation has been passed with DryRun flag set.",
    ),
    "Throttling.User": (400, "Request was denied due to user flow control."),
    "ServiceUnavailable": (
        503,
        "The request has failed due to a temporary failure of the server.",
    ),
    "InternalError": (
        500,
        "The request processing has failed due to some unknown error, exception "
        "or failure.",
    ),
    "InvalidImageId.NotFound": (404, "The specified ImageId does not exist."),
    "InvalidImageName.Malformed": (
        400,
        "The specified Image name is wrongly formed. It must be 2 to 128 characters "
        "long, start with a letter or a Chinese character, not start with aliyun or "
        "acs:, not contain http:// or https://, and contain only letters, Chinese "
        "characters, digits, periods (.), colons (:), underscores (_) and hyphens (-).",
    ),
    "InvalidImageName.Duplicated": (
        400,
        "The specified Image name has already bean used.",
    ),
    "InvalidDescription.Malformed": (
        400,
        "The specified description is wrongly formed. It must be 2 to 256 characters "
        "long and must not start with http:// or https://.",
    ),
    "InvalidImageFamily.Malformed": (
        400,
        "The specified ImageFamily is wrongly formed; it follows the image name rule.",
    ),
    "ImageQuotaFull.ImageFamily": (
        400,
        "The number of images in the image family has reached the upper limit.",
    ),
    "ImageFamilyQuotaFull": (
        400,
        "The number of image families in the region has reached the upper limit.",
    ),
    "InvalidBootMode.NotSupport": (400, "The specified BootMode is not supported."),
    "InvalidLicenseType.NotSupported": (
        400,
        "The specified LicenseType is not supported; only BYOL is.",
    ),
    "InvalidParameter.FeaturesImdsSupport": (
        400,
        "The specified Features.ImdsSupport is not valid; use v1 or v2.",
    ),
    "ImageStatus.NotAvailable": (403, "The status of the image is not Available."),
    "ImageStatus.NotDeprecated": (403, "The status of the image is not Deprecated."),
    "ImageUseShared": (
        403,
        "The image is shared with other accounts; cancel the sharing first.",
    ),
    "OperationDeined.ImageUsingByInstance": (
        403,
        "The BootMode of the image cannot be changed while instances use it.",
    ),
    "InvalidOperation.FeaturesImdsSupportNotMatch": (
        403,
        "Features.ImdsSupport cannot be changed from v2 to v1.",
    ),
    "InvalidStatus.ImageIsCreating": (
        403,
        "The image is being created; try again after creation completes.",
    ),
}


class ApiError(Exception):
    """An error answer: HTTP status, Code and Message."""

    def __init__(
        self, code: str, detail: str = "", *, headers: dict[str, str] | None = None
    ) -> None:
        status, message = _ERRORS[code]
        if "%s" in message:
            message = message % detail
        elif detail:
            message = detail
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.headers = headers or {}
