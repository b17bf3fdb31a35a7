# Summary tables of scripts/caller-baseline-sim.ts (run it with and without `same` first): python3 scripts/caller-baseline-compare.py
import os; os.chdir("/tmp/ser-cb")
import json
m=json.load(open('sim-mixed.json'))['rows']; s=json.load(open('sim-same.json'))['rows']
def g(rows,v,h,st): 
    for r in rows:
        if r['variant']==v and r['h']==h and r['set']==st: return r
xc=['emodb','emovo','nemo','ased']
vs=[]
for r in m:
    if r['variant'] not in vs: vs.append(r['variant'])
print('| variant | mixed val acc H10/30/60 | mixed xc mean H10/30/60 | same-emotion val acc H10/30/60 | same xc mean H30 | same test ANG recall H30 | objective |')
print('|---|---|---|---|---|---|---|')
base_val=g(m,'none',0,'crema-d val')['accuracy']; base_xc=sum(g(m,'none',0,x)['accuracy'] for x in xc)/4
for v in vs:
    H=[10,30,60] if v!='none' else [0,0,0]
    mv=[g(m,v,h,'crema-d val')['accuracy'] for h in H]
    mx=[sum(g(m,v,h,x)['accuracy'] for x in xc)/4 for h in H]
    sv=[g(s,v,h,'crema-d val')['accuracy'] for h in H]
    sx=sum(g(s,v,H[1],x)['accuracy'] for x in xc)/4
    ang=g(s,v,H[1],'crema-d test')['recall'][0]
    # objective: mean over H of the mixed-history gain (val + xcorpus)/2 minus the persistent-caller loss on val
    obj=sum(((mv[i]-base_val)+(mx[i]-base_xc))/2 for i in range(3))/3 - max(0, base_val-min(sv))
    print(f"| {v} | {'/'.join(f'{100*x:.1f}' for x in mv)} | {'/'.join(f'{100*x:.1f}' for x in mx)} | {'/'.join(f'{100*x:.1f}' for x in sv)} | {100*sx:.1f} | {ang:.2f} | {100*obj:+.1f} |")
print()
print('| variant | val H0/3/10/30/60 | test H0/3/10/30/60 | test F1 H30 | test ECE H30 | xc mean H0/3/10/30/60 | xc max ECE H30 | score |')
print('|---|---|---|---|---|---|---|---|')
for v in vs:
    H=[0,3,10,30,60]
    if v=='none': continue
    val=[g(m,v,h,'crema-d val')['accuracy'] for h in H]
    te=[g(m,v,h,'crema-d test')['accuracy'] for h in H]
    x=[sum(g(m,v,h,c)['accuracy'] for c in xc)/4 for h in H]
    ok = val[1] >= val[0]-0.01
    score=sum((val[i]+x[i])/2 for i in (2,3,4))/3
    t30=g(m,v,30,'crema-d test')
    print(f"| {v} | {'/'.join(f'{100*a:.1f}' for a in val)} | {'/'.join(f'{100*a:.1f}' for a in te)} | {t30['macroF1']:.3f} | {t30['ece']:.3f} | {'/'.join(f'{100*a:.1f}' for a in x)} | {max(g(m,v,30,c)['ece'] for c in xc):.3f} | {100*score:.1f}{'' if ok else ' (H=3 drop)'} |")
