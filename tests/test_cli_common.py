"""cli.common: --model-opt key=value parses into numbers, tuples and flags."""



def test_model_options_parse_numbers_tuples_and_flags():
    from scoreaug_lab.cli import _key_values
    assert _key_values(["width=64", "dropout=0.1", "channel_mult=1,2,2", "mid_attention=false", "act=silu"]) == {
        "width": 64, "dropout": 0.1, "channel_mult": (1, 2, 2), "mid_attention": False, "act": "silu"}
