"""Region codes at the front desk: the NBS division tables down to townships (table.py), and the villages each
county loads from the statistics bureau's 统计用区划代码 table (villages.py, stored by repository.py)."""
