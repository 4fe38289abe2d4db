"""What each ECS error code means for the user, and what to do next."""

from __future__ import annotations

# Codes the gateway gives failures that never got an ECS answer.
TIMEOUT = "Transport.Timeout"
CONNECTION_LOST = "Transport.ConnectionLost"
UNREACHABLE = "Transport.Unreachable"
BAD_RESPONSE = "Transport.BadResponse"
# The endpoint answered a dry run with success, as if it had run the change.
DRY_RUN_IGNORED = "DryRunIgnored"

_ERROR_CENTRE = "https://api.alibabacloud.com/document/Ecs/2014-05-26/errorCode"


# What happened and what to do next, per error code; {image} and {region} are
# filled in by explain().
_EXPLANATIONS: dict[str, str] = {
    "InvalidImageName.Malformed": (
        "ECS refused the new name of {image}: a name has 2 to 128 characters, starts "
        "with a letter or a Chinese character, does not start with `aliyun` or `acs:`, "
        "contains no `http://` or `https://`, and uses only letters, Chinese "
        "characters, digits and . : _ -. Choose another name and try again."
    ),
    "InvalidImageName.Duplicated": (
        "Another image in {region} already has that name. Choose a different name "
        "for {image} and try again."
    ),
    "InvalidDescription.Malformed": (
        "ECS refused the description of {image}: it must be 2 to 256 characters and "
        "must not start with `http://` or `https://`. Fix it and try again."
    ),
    "InvalidImageFamily.Malformed": (
        "ECS refused the family name for {image}: a family has 2 to 128 characters, "
        "starts with a letter or a Chinese character, does not start with `aliyun` "
        "or `acs:`, and uses only letters, Chinese characters, digits and . : _ -. "
        "Choose another family and try again."
    ),
    "ImageQuotaFull.ImageFamily": (
        "That family already holds as many images as ECS allows, so {image} cannot "
        "join it. Delete an old image of the family or choose another family, then "
        "try again."
    ),
    "ImageFamilyQuotaFull": (
        "ECS allows no more image families in {region}. Put {image} in an existing "
        "family, or remove a family nobody uses, then try again."
    ),
    "InvalidBootMode.NotSupport": (
        "ECS does not support that boot mode for {image} (the value, or the image's "
        "architecture). Choose a mode the image's OS supports (BIOS, UEFI or "
        "UEFI-Preferred) and try again."
    ),
    "InvalidLicenseType.NotSupported": (
        "ECS does not accept that license type for {image}; BYOL is the only "
        "supported value. Use `license=BYOL` or leave the license unchanged."
    ),
    "InvalidParameter.FeaturesImdsSupport": (
        "ECS refused the IMDS setting for {image}: it must be v1 or v2. Fix the value "
        "and try again."
    ),
    "ImageStatus.NotAvailable": (
        "{image} is not Available, so ECS will not deprecate it. Check its current "
        "status with `show`; if it is already Deprecated there is nothing to do."
    ),
    "ImageStatus.NotDeprecated": (
        "{image} is not Deprecated, so ECS will not restore it. Check its current "
        "status with `show`; if it is already Available there is nothing to do."
    ),
    "ImageUseShared": (
        "{image} is shared with other accounts; unshare it "
        "(ModifyImageSharePermission) and try again."
    ),
    "OperationDeined.ImageUsingByInstance": (
        "{image} has instances created from it, so ECS will not change its boot mode. "
        "Release those instances, or build a new image with the boot mode you need."
    ),
    "InvalidOperation.FeaturesImdsSupportNotMatch": (
        "{image} already requires IMDSv2, and ECS cannot switch an image back to v1. "
        "Build a new image if instances need IMDSv1."
    ),
    "InvalidStatus.ImageIsCreating": (
        "{image} is still being created. Wait until `show` reports it Available, "
        "then try again."
    ),
    "InvalidImageId.NotFound": (
        "{image} is not a custom image in {region} of this account. Check the "
        "image id and the region (`region=<r>`), then try again."
    ),
    "MissingParameter": (
        "ECS says the request for {image} lacks a required parameter. This is a bug "
        "in the bot: report it to the bot's operators with the ECS request id."
    ),
    "InvalidParameter": (
        "ECS refused a value in the request for {image}. Check the values against "
        "`help set` and try again."
    ),
    "Throttling": (
        "ECS is throttling this account's requests in {region} (too many calls this "
        "minute). Wait a minute and try again."
    ),
    "SignatureDoesNotMatch": (
        "ECS rejected the bot's request signature: the AccessKey secret the bot uses "
        "is wrong. An operator must fix the bot's Alibaba Cloud credentials and "
        "restart it."
    ),
    "InvalidAccessKeyId.NotFound": (
        "ECS does not know the AccessKey id the bot uses (deleted or mistyped). An "
        "operator must give the bot a valid AccessKey and restart it."
    ),
    "Forbidden.RAM": (
        "The bot's RAM identity may not do this on {image} in {region}. Ask an "
        "Alibaba Cloud administrator to allow ecs:ModifyImageAttribute and the "
        "ecs:Describe* reads for the image, then try again."
    ),
    "InvalidCredentials": (
        "The bot has no usable Alibaba Cloud credentials. An operator must set "
        "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (or another "
        "source of the Alibaba credential chain) and restart the bot."
    ),
    "InternalError": (
        "ECS reported an internal error while handling {image}. Wait a moment and try "
        "again; after a change, check the image with `show` first, because the change "
        "may have been applied."
    ),
    "ServiceUnavailable": (
        "ECS in {region} is temporarily unavailable. Wait a moment and try again; "
        "after a change, check {image} with `show` first, because the change may "
        "have been applied."
    ),
    "DryRunOperation": (
        "The dry run passed: ECS accepted the credentials, permissions and format of "
        "the change to {image}."
    ),
    TIMEOUT: (
        "ECS did not answer in time. Try again in a moment; after a change, check "
        "{image} with `show` first, because the change may have been applied."
    ),
    CONNECTION_LOST: (
        "The connection to ECS broke before an answer arrived. Try again in a moment; "
        "after a change, check {image} with `show` first, because the change may "
        "have been applied."
    ),
    UNREACHABLE: (
        "The bot could not connect to ECS, so nothing was sent. An operator should "
        "check the bot's network, proxy and IMAGEBOT_ECS_ENDPOINT; then try again."
    ),
    BAD_RESPONSE: (
        "ECS sent an answer the bot could not read. Try again in a moment; after a "
        "change, check {image} with `show` first, because the change may have been "
        "applied."
    ),
    DRY_RUN_IGNORED: (
        "The ECS endpoint answered the dry run for {image} as if it had applied the "
        "change. Check the image with `show`; an operator should check that "
        "IMAGEBOT_ECS_ENDPOINT points at ECS."
    ),
}
_GENERIC = (
    "ECS refused the request for {image} with error {code}. Look the code up in the "
    "ECS error centre (" + _ERROR_CENTRE + "), fix the cause and try again."
)


def explain(code: str, *, image_id: str = "", region: str = "") -> str:
    """User-facing text for an ECS or gateway error code: what happened, what to do."""
    template = _EXPLANATIONS.get(code)
    if template is None and code.startswith("Throttling"):
        template = _EXPLANATIONS["Throttling"]
    image = f"image `{image_id}`" if image_id else "the image"
    text = (template or _GENERIC).format(
        image=image, region=f"`{region}`" if region else "this region", code=code
    )
    return text[0].upper() + text[1:]


def has_explanation(code: str) -> bool:
    """Whether explain() has a text of its own for the code (not the generic one)."""
    return code in _EXPLANATIONS or code.startswith("Throttling")
