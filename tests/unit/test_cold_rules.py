"""The lifecycle rules that move renditions and previews to a colder S3 class."""

from storage.backends.s3 import COLD_MIN_BYTES, cold_rules


def test_small_copies_such_as_thumbnails_stay_in_the_standard_class() -> None:
    rules = cold_rules("bukti", "bukti/", 90, "STANDARD_IA")

    assert [rule["ID"] for rule in rules] == [
        "bukti-cold-bukti-renditions",
        "bukti-cold-bukti-previews",
    ]
    for rule, area in zip(rules, ("renditions", "previews"), strict=True):
        # the infrequent-access classes bill anything smaller as 128 KB
        assert rule["Filter"] == {
            "And": {"Prefix": f"bukti/{area}/", "ObjectSizeGreaterThan": 128 * 1024 - 1}
        }
        assert rule["Transitions"] == [{"Days": 90, "StorageClass": "STANDARD_IA"}]
        assert rule["Status"] == "Enabled"
    assert COLD_MIN_BYTES == 128 * 1024
