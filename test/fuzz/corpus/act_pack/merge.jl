{"url": "u1", "ranking": 1}
garbage
{"url": "u2", "a": {"b": [1, 2.5]}}
{"url": "u2", "ranking": 7}
